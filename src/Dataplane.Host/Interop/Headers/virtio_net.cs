using System.Runtime.InteropServices;

namespace Dataplane;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/virtio_net.h>. Fields are __virtio16: little-endian for virtio 1.0 and for legacy headers
        // on little-endian hosts (TAP uses host order unless TUNSETVNETBE/LE says otherwise).

        /// <summary>struct virtio_net_hdr: 10 bytes, the legacy header and the TAP default size.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct virtio_net_hdr
        {
            public byte flags;
            public byte gso_type;
            public ushort hdr_len;
            public ushort gso_size;
            public ushort csum_start;
            public ushort csum_offset;
        }

        /// <summary>
        /// struct virtio_net_hdr_mrg_rxbuf (also the layout of virtio 1.0's struct virtio_net_hdr_v1): 12 bytes.
        /// </summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct virtio_net_hdr_mrg_rxbuf
        {
            public virtio_net_hdr hdr;
            public ushort num_buffers;
        }

        internal const byte VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
        internal const byte VIRTIO_NET_HDR_F_DATA_VALID = 2;
        internal const byte VIRTIO_NET_HDR_F_RSC_INFO = 4;

        internal const byte VIRTIO_NET_HDR_GSO_NONE = 0;
        internal const byte VIRTIO_NET_HDR_GSO_TCPV4 = 1;
        internal const byte VIRTIO_NET_HDR_GSO_UDP = 3;
        internal const byte VIRTIO_NET_HDR_GSO_TCPV6 = 4;
        internal const byte VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
        internal const byte VIRTIO_NET_HDR_GSO_ECN = 0x80;
    }
}
