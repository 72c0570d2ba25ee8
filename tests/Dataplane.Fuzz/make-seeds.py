#!/usr/bin/env python3
"""Writes the seed inputs of corpus/<target>/ (seed-*): frames of the demo's captures (examples/demo), a few crafted
frames and capture files, the example configs, control requests and CNI network configurations. afl's finds are
added next to them by hand (scripts/fuzz.sh prints where they are); this script never touches those.
Run from anywhere: python3 tests/Dataplane.Fuzz/make-seeds.py"""
import json, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, "..", ".."))
corpus = os.path.join(here, "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    with open(os.path.join(corpus, target, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def pcap_frames(path):
    data = open(path, "rb").read()
    assert struct.unpack("<I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D), path  # micro- or nanoseconds
    at, frames = 24, []
    while at + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[at:at + 16])
        frames.append((sec, frac, data[at + 16:at + 16 + incl]))
        at += 16 + incl
    return frames


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def ip4(text):
    return bytes(int(x) for x in text.split("."))


def ipv4(src, dst, proto, payload, ttl=64):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, ttl, proto, 0, ip4(src), ip4(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def l4_checksummed(src, dst, proto, segment, offset):
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(segment))
    c = checksum(pseudo + segment)
    return segment[:offset] + struct.pack("!H", c) + segment[offset + 2:]


def udp(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return ipv4(src, dst, 17, l4_checksummed(src, dst, 17, seg, 6))


def tcp_syn(src, dst, sport, dport):
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    return ipv4(src, dst, 6, l4_checksummed(src, dst, 6, seg, 16))


def icmp_echo(src, dst):
    msg = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"
    msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
    return ipv4(src, dst, 1, msg)


def eth(dst, src, ethertype, payload):
    return mac(dst) + mac(src) + struct.pack("!H", ethertype) + payload


def arp_request(src_mac, src_ip, target_ip):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac(src_mac), ip4(src_ip), b"\0" * 6, ip4(target_ip))
    return eth("ff:ff:ff:ff:ff:ff", src_mac, 0x0806, body)


def pipeline_input(node, frames):
    """PipelineTarget's layout: the node byte, then [port, length (big endian), bytes] per frame."""
    return bytes([node]) + b"".join(bytes([port]) + struct.pack("!H", len(f)) + f for port, f in frames)


GW, CLIENT, WEB1, UPLINK, NODEB = "02:00:00:00:01:01", "02:00:0a:f4:01:14", "02:00:0a:f4:01:0b", "02:00:00:00:77:10", "02:00:00:00:77:11"

# Pipeline. Ports of the routed node: uplink 0, dp-host 1, web-1 2, web-2 3, client 4; of the VXLAN node:
# uplink 0, web-1 1, client 2. The demo node's addresses are the fuzz nodes' (examples/demo/node.yaml).
routed_port = {"uplink": 0, "web-1": 2, "web-2": 3, "client": 4}
demo = os.path.join(root, "examples", "demo")
merged = []
for name, port in routed_port.items():
    frames = pcap_frames(os.path.join(demo, name + ".pcap"))
    write("pipeline", "demo-" + name, pipeline_input(0, [(port, f) for _, _, f in frames]))
    merged += [(sec, frac, port, f) for sec, frac, f in frames]
merged.sort(key=lambda x: (x[0], x[1]))
write("pipeline", "demo-all", pipeline_input(0, [(p, f) for _, _, p, f in merged]))
write("pipeline", "arp-gateway", pipeline_input(0, [(4, arp_request(CLIENT, "10.244.1.20", "10.244.1.1"))]))
write("pipeline", "ping-gateway", pipeline_input(0, [(4, eth(GW, CLIENT, 0x0800, icmp_echo("10.244.1.20", "10.244.1.1")))]))
write("pipeline", "syn-clusterip", pipeline_input(0, [(4, eth(GW, CLIENT, 0x0800, tcp_syn("10.244.1.20", "10.96.0.10", 40000, 80)))]))
write("pipeline", "udp-nodeport", pipeline_input(0, [(0, eth(UPLINK, NODEB, 0x0800, udp("192.168.77.11", "192.168.77.10", 41000, 30500, b"hello")))]))
write("pipeline", "ttl-expired", pipeline_input(0, [(4, eth(GW, CLIENT, 0x0800, udp("10.244.1.20", "10.244.2.12", 5000, 6000, b"x")[:8] + b"\x01" + udp("10.244.1.20", "10.244.2.12", 5000, 6000, b"x")[9:]))]))
inner = eth("0a:00:0a:f4:01:00", "0a:00:0a:f4:02:00", 0x0800, udp("10.244.2.12", "10.244.1.20", 6000, 5000, b"inner"))
vxlan = struct.pack("!BBHI", 0x08, 0, 0, 1 << 8) + inner
write("pipeline", "vxlan-decap", pipeline_input(1, [(0, eth(UPLINK, NODEB, 0x0800, udp("192.168.77.11", "192.168.77.10", 50000, 8472, vxlan)))]))
write("pipeline", "vxlan-encap", pipeline_input(1, [(2, eth(GW, CLIENT, 0x0800, udp("10.244.1.20", "10.244.2.12", 5000, 6000, b"out")))]))

# Frames: one frame each (the parsers look at every layer).
for name in ["arp-gateway", "ping-gateway", "syn-clusterip", "udp-nodeport"]:
    data = open(os.path.join(corpus, "pipeline", "seed-" + name), "rb").read()
    write("frames", name, data[4:])
write("frames", "vxlan", eth(UPLINK, NODEB, 0x0800, udp("192.168.77.11", "192.168.77.10", 50000, 8472, vxlan)))

# Capture files: the demo's, a pcapng with a named interface, and a Linux cooked (SLL2) pcap.
for name in routed_port:
    write("pcap", "demo-" + name + ".pcap", open(os.path.join(demo, name + ".pcap"), "rb").read())


def block(kind, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


frame = eth(GW, CLIENT, 0x0800, icmp_echo("10.244.1.20", "10.244.1.1"))
shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
name_option = struct.pack("<HH", 2, 4) + b"eth0" + struct.pack("<HH", 0, 0)
idb = block(1, struct.pack("<HHI", 1, 0, 65535) + name_option)
epb = block(6, struct.pack("<IIIII", 0, 0, 1000, len(frame), len(frame)) + frame + b"\0" * (-len(frame) % 4))
write("pcap", "pcapng-named", shb + idb + epb)
sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 1, 1, 0, 6, mac(CLIENT) + b"\0\0") + frame[14:]
write("pcap", "sll2.pcap", struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 276) + struct.pack("<IIII", 1, 0, len(sll2), len(sll2)) + sll2)

# Configs: the examples as they are, and the fuzz nodes.
write("config", "example-node.yaml", open(os.path.join(root, "examples", "node.yaml")).read())
write("config", "demo-node.yaml", open(os.path.join(demo, "node.yaml")).read())
write("config", "errors.yaml", "node:\n  name: Node_A\n  podCidr: 10.244.1.0/33\npods:\n  - { name: web-1, ip: 10.245.1.11 }\n")

# Control requests, one line each, as `dataplane ctl` sends them.
requests = {
    "status": {"command": "status"},
    "conntrack": {"command": "conntrack", "ip": "10.244.1.20", "port": 80, "count": 10},
    "trace": {"command": "trace", "count": 5, "seconds": 2, "filter": "tcp port 80 and host 10.244.1.12"},
    "capture": {"command": "capture", "portName": "web-1", "count": 10, "filter": "icmp"},
    "service-apply": {"command": "service-apply", "yaml": "services:\n  - name: db\n    clusterIP: 10.96.0.40\n    ports:\n      - { protocol: TCP, port: 5432 }\n    endpoints:\n      - { ip: 10.244.1.12 }\n"},
    "pod-add": {"command": "pod-add", "pod": {"name": "p1", "containerId": "abc", "ifName": "eth0", "netns": "/var/run/netns/p1", "ips": [{"address": "10.244.1.30/24"}]}},
    "pod-gc": {"command": "pod-gc", "valid": [{"containerId": "abc", "ifName": "eth0"}]},
}
for name, request in requests.items():
    write("control", name, json.dumps(request) + "\n")

# CNI network configurations, as a runtime writes them on the plugin's stdin.
ipam = {"type": "host-local", "ranges": [[{"subnet": "10.244.1.0/24", "gateway": "10.244.1.1"}]]}
conf = {"cniVersion": "1.1.0", "name": "dataplane", "type": "dataplane-cni", "socket": "/run/dataplane/node-a.sock", "mtu": 1500, "ipam": ipam,
        "dns": {"nameservers": ["10.96.0.10"]}}
write("cni", "add", json.dumps(conf))
write("cni", "with-prev-result", json.dumps(dict(conf, prevResult={"cniVersion": "1.1.0", "interfaces": [{"name": "eth0", "mac": "02:00:0a:f4:01:1e", "sandbox": "/var/run/netns/p1"}],
                                                                  "ips": [{"address": "10.244.1.30/24", "gateway": "10.244.1.1", "interface": 0}]},
                                                   runtimeConfig={"mac": "02:00:0a:f4:01:1e"})))
write("cni", "gc", json.dumps(dict(conf, **{"cni.dev/valid-attachments": [{"containerID": "abc", "ifname": "eth0"}]})))
write("cni", "old-version", json.dumps(dict(conf, cniVersion="0.4.0")))
print("seeds written under", corpus)
