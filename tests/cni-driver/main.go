// cni-driver drives CNI plugins through libcni, the library containerd and CRI-O call, so the tests and the
// CniLatency benchmark exercise a plugin the way a real runtime does: conflist parsing, prevResult chaining,
// the result cache, CHECK and DEL from the cache.
//
//	cni-driver add|check|del --conflist FILE --bin DIR[:DIR...] --cache-dir DIR --netns PATH|NAME --id ID
//	                         [--ifname eth0] [--args K=V;K=V]
//	cni-driver bench --conflist FILE --bin DIR[:DIR...] --count N [--parallel P] --netns-prefix PREFIX
//	                 [--create-netns] [--cache-dir DIR] [--ifname eth0] [--args K=V;...]
//	                 [--ready-ping] [--ready-target IP] [--ready-timeout 60s]
//	                 [--watch-netns PATH|NAME --watch-ip IP [--watch-interval 50ms]]
//
// add prints the ADD result (the conflist's version) as JSON. bench adds the network to the namespaces
// PREFIX0..PREFIX(N-1) (made with `ip netns add` when --create-netns, and deleted again at the end), P at a time,
// then deletes it from all of them, and prints one JSON object: per-operation latency percentiles, the wall time
// of each phase, the addresses handed out, and, with --ready-ping, how long until each pod could ping its gateway
// (or --ready-target); --watch-* pings from an existing pod during the whole churn and reports the loss.
//
// Built in GOPATH mode against Debian's golang-github-appc-cni-dev, offline:
//
//	GO111MODULE=off GOPATH=$tmp:/usr/share/gocode GOFLAGS= GOPROXY=off go build -o cni-driver .
//
// Exit codes: 0 all operations succeeded, 1 an operation failed (bench still prints its JSON), 2 bad usage.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
)

const netnsDir = "/var/run/netns"

// Per-call deadline: a plugin that hangs fails its call instead of the whole run.
const callTimeout = 2 * time.Minute

type common struct {
	conflist string
	bin      string
	cacheDir string
	ifname   string
	args     string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.conflist, "conflist", "", "network configuration list (.conflist)")
	fs.StringVar(&c.bin, "bin", "", "plugin directories, ':'-separated")
	fs.StringVar(&c.cacheDir, "cache-dir", "", "libcni result cache directory")
	fs.StringVar(&c.ifname, "ifname", "eth0", "interface name inside the namespace")
	fs.StringVar(&c.args, "args", "", "CNI_ARGS as K=V;K=V")
}

func (c *common) load() (*libcni.CNIConfig, *libcni.NetworkConfigList, error) {
	if c.conflist == "" || c.bin == "" {
		return nil, nil, usageError("--conflist and --bin are required")
	}
	list, err := libcni.ConfListFromFile(c.conflist)
	if err != nil {
		return nil, nil, err
	}
	return libcni.NewCNIConfigWithCacheDir(filepath.SplitList(c.bin), c.cacheDir, nil), list, nil
}

func (c *common) runtimeConf(id, netns string) (*libcni.RuntimeConf, error) {
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netnsPath(netns), IfName: c.ifname}
	for _, kv := range strings.Split(c.args, ";") {
		if kv == "" {
			continue
		}
		parts := strings.SplitN(kv, "=", 2)
		if len(parts) != 2 {
			return nil, usageError(fmt.Sprintf("--args: %q is not K=V", kv))
		}
		rt.Args = append(rt.Args, [2]string{parts[0], parts[1]})
	}
	return rt, nil
}

type usageError string

func (e usageError) Error() string { return string(e) }

func netnsPath(ns string) string {
	if ns == "" || strings.Contains(ns, "/") {
		return ns
	}
	return filepath.Join(netnsDir, ns)
}

func main() {
	if len(os.Args) < 2 {
		fail(usageError("usage: cni-driver add|check|del|bench [flags] (see the source's header)"))
	}
	var err error
	switch cmd := os.Args[1]; cmd {
	case "add", "check", "del":
		err = single(cmd, os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	default:
		err = usageError(fmt.Sprintf("unknown command %q: add, check, del or bench", cmd))
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cni-driver:", err)
	var usage usageError
	if errors.As(err, &usage) {
		os.Exit(2)
	}
	os.Exit(1)
}

func single(cmd string, argv []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	var c common
	c.register(fs)
	netns := fs.String("netns", "", "namespace path or name under /var/run/netns")
	id := fs.String("id", "", "container id")
	if err := fs.Parse(argv); err != nil {
		return usageError(err.Error())
	}
	if *id == "" || (*netns == "" && cmd != "del") {
		return usageError("--id and --netns are required")
	}
	if c.cacheDir == "" {
		// CHECK and DEL read what ADD cached: one run's commands must share a directory, never /var/lib/cni.
		return usageError("--cache-dir is required")
	}
	cni, list, err := c.load()
	if err != nil {
		return err
	}
	rt, err := c.runtimeConf(*id, *netns)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	switch cmd {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		return result.Print()
	case "check":
		return cni.CheckNetworkList(ctx, list, rt)
	default:
		return cni.DelNetworkList(ctx, list, rt)
	}
}

// Stats are one operation's latencies over all pods, in milliseconds.
type Stats struct {
	Ok     int     `json:"ok"`
	Failed int     `json:"failed"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	Mean   float64 `json:"mean_ms"`
	WallMs float64 `json:"wall_ms"`
}

// Ready is how long after the start of the ADD phase each pod first got an echo reply from its target.
type Ready struct {
	Target string  `json:"target,omitempty"`
	Ok     int     `json:"ok"`
	Failed int     `json:"failed"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	Max    float64 `json:"max_ms"`
	// AllMs: from the first ADD starting until the last pod answered (the "N pods at once" figure).
	AllMs float64 `json:"all_ms"`
	// AfterAddP50Ms: the median delay between a pod's ADD returning and its first echo reply.
	AfterAddP50Ms float64 `json:"after_add_p50_ms"`
}

// Watch is the loss seen by a pod that already existed, pinging during the whole churn.
type Watch struct {
	From       string  `json:"from"`
	To         string  `json:"to"`
	IntervalMs float64 `json:"interval_ms"`
	Sent       int     `json:"sent"`
	Received   int     `json:"received"`
	Lost       int     `json:"lost"`
	MaxRttMs   float64 `json:"max_rtt_ms"`
	Error      string  `json:"error,omitempty"`
}

// BenchResult is what bench prints.
type BenchResult struct {
	Network  string   `json:"network"`
	Plugins  []string `json:"plugins"`
	Count    int      `json:"count"`
	Parallel int      `json:"parallel"`
	Add      Stats    `json:"add"`
	Del      Stats    `json:"del"`
	Ready    *Ready   `json:"ready,omitempty"`
	Watch    *Watch   `json:"watch,omitempty"`
	IPs      []string `json:"ips"`
	Errors   []string `json:"errors"`
}

type pod struct {
	id, netns  string
	addMs      float64
	delMs      float64
	addErr     error
	delErr     error
	ips        []string
	gateway    string
	readyMs    float64
	afterAddMs float64
	readyErr   error
}

func bench(argv []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var c common
	c.register(fs)
	count := fs.Int("count", 10, "pods")
	parallel := fs.Int("parallel", 1, "operations in flight at once")
	prefix := fs.String("netns-prefix", "", "namespaces PREFIX0..PREFIX(N-1) under /var/run/netns")
	create := fs.Bool("create-netns", false, "create the namespaces (ip netns add) and delete them at the end")
	readyPing := fs.Bool("ready-ping", false, "after each ADD, ping the pod's gateway (or --ready-target) until it answers")
	readyTarget := fs.String("ready-target", "", "address to ping instead of the gateway in the ADD result")
	readyTimeout := fs.Duration("ready-timeout", 60*time.Second, "how long a pod may take to answer")
	watchNetns := fs.String("watch-netns", "", "an existing pod that pings --watch-ip during the churn")
	watchIP := fs.String("watch-ip", "", "the address the watching pod pings")
	watchInterval := fs.Duration("watch-interval", 50*time.Millisecond, "interval of the watching ping")
	if err := fs.Parse(argv); err != nil {
		return usageError(err.Error())
	}
	if *prefix == "" || *count < 1 || *parallel < 1 {
		return usageError("bench needs --netns-prefix, --count >= 1 and --parallel >= 1")
	}
	if (*watchNetns == "") != (*watchIP == "") {
		return usageError("--watch-netns and --watch-ip go together")
	}
	if c.cacheDir == "" {
		dir, err := ioutil.TempDir("", "cni-driver-cache-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.cacheDir = dir
	}
	cni, list, err := c.load()
	if err != nil {
		return err
	}

	pods := make([]*pod, *count)
	for i := range pods {
		pods[i] = &pod{id: fmt.Sprintf("bench-%s%d", filepath.Base(*prefix), i), netns: netnsPath(fmt.Sprintf("%s%d", *prefix, i))}
	}
	result := BenchResult{Network: list.Name, Count: *count, Parallel: *parallel, IPs: []string{}, Errors: []string{}}
	for _, p := range list.Plugins {
		result.Plugins = append(result.Plugins, p.Network.Type)
	}

	if *create {
		for i, p := range pods {
			name := filepath.Base(p.netns)
			if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
				deleteNamespaces(pods[:i])
				return fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
			}
		}
		defer deleteNamespaces(pods)
	}

	var watch *watcher
	if *watchNetns != "" {
		watch, err = startWatch(netnsPath(*watchNetns), *watchIP, *watchInterval)
		if err != nil {
			return fmt.Errorf("watch: %w", err)
		}
	}

	// ADD, P at a time; each pod that got an address starts pinging on its own goroutine straight away.
	var readyWait sync.WaitGroup
	start := time.Now()
	addWall := runAll(pods, *parallel, func(p *pod) {
		rt, err := c.runtimeConf(p.id, p.netns)
		if err != nil {
			p.addErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		t := time.Now()
		res, err := cni.AddNetworkList(ctx, list, rt)
		p.addMs = ms(time.Since(t))
		if err != nil {
			p.addErr = err
			return
		}
		p.ips, p.gateway, p.addErr = addresses(res)
		if *readyPing && p.addErr == nil {
			target := *readyTarget
			if target == "" {
				target = p.gateway
			}
			added := time.Since(start)
			readyWait.Add(1)
			go func() {
				defer readyWait.Done()
				if target == "" {
					p.readyErr = errors.New("the ADD result has no gateway and no --ready-target was given")
					return
				}
				p.readyErr = pingUntilAnswered(p.netns, target, time.Now().Add(*readyTimeout))
				p.readyMs = ms(time.Since(start))
				p.afterAddMs = p.readyMs - ms(added)
			}()
		}
	})
	readyWait.Wait()
	if *readyPing {
		result.Ready = readyStats(pods, *readyTarget)
	}

	delWall := runAll(pods, *parallel, func(p *pod) {
		// A failed ADD is cleaned up too, as a runtime would: DEL must be idempotent.
		rt, err := c.runtimeConf(p.id, p.netns)
		if err != nil {
			p.delErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		t := time.Now()
		p.delErr = cni.DelNetworkList(ctx, list, rt)
		p.delMs = ms(time.Since(t))
	})

	if watch != nil {
		w := watch.stop()
		w.From, w.To = *watchNetns, *watchIP
		result.Watch = &w
	}

	result.Add = stats(pods, addWall, func(p *pod) (float64, error) { return p.addMs, p.addErr })
	result.Del = stats(pods, delWall, func(p *pod) (float64, error) { return p.delMs, p.delErr })
	for _, p := range pods {
		result.IPs = append(result.IPs, p.ips...)
		for _, e := range []struct {
			op  string
			err error
		}{{"add", p.addErr}, {"ready", p.readyErr}, {"del", p.delErr}} {
			if e.err != nil {
				result.Errors = append(result.Errors, fmt.Sprintf("%s %s: %v", e.op, p.netns, e.err))
			}
		}
	}

	out, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	if len(result.Errors) > 0 {
		return fmt.Errorf("%d operation(s) failed, first: %s", len(result.Errors), result.Errors[0])
	}
	return nil
}

func deleteNamespaces(pods []*pod) {
	for _, p := range pods {
		if out, err := exec.Command("ip", "netns", "del", filepath.Base(p.netns)).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "cni-driver: ip netns del %s: %v: %s\n", filepath.Base(p.netns), err, out)
		}
	}
}

// runAll runs op for every pod with at most parallel in flight and returns the wall time in milliseconds.
func runAll(pods []*pod, parallel int, op func(*pod)) float64 {
	start := time.Now()
	work := make(chan *pod)
	var wg sync.WaitGroup
	for w := 0; w < parallel && w < len(pods); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				op(p)
			}
		}()
	}
	for _, p := range pods {
		work <- p
	}
	close(work)
	wg.Wait()
	return ms(time.Since(start))
}

func addresses(res types.Result) ([]string, string, error) {
	current, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, "", fmt.Errorf("converting the result: %w", err)
	}
	var ips []string
	gateway := ""
	for _, ip := range current.IPs {
		ips = append(ips, ip.Address.IP.String())
		if gateway == "" && ip.Gateway != nil && ip.Address.IP.To4() != nil {
			gateway = ip.Gateway.String()
		}
	}
	if len(ips) == 0 {
		return nil, "", errors.New("the ADD result has no IPs")
	}
	return ips, gateway, nil
}

func stats(pods []*pod, wall float64, get func(*pod) (float64, error)) Stats {
	s := Stats{WallMs: round(wall)}
	var values []float64
	for _, p := range pods {
		v, err := get(p)
		if err != nil {
			s.Failed++
			continue
		}
		s.Ok++
		values = append(values, v)
	}
	if len(values) == 0 {
		return s
	}
	sort.Float64s(values)
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	s.P50, s.P90, s.P99 = percentile(values, 50), percentile(values, 90), percentile(values, 99)
	s.Max, s.Mean = round(values[len(values)-1]), round(sum/float64(len(values)))
	return s
}

func readyStats(pods []*pod, target string) *Ready {
	r := &Ready{Target: target}
	var at, after []float64
	for _, p := range pods {
		if p.addErr != nil {
			continue
		}
		if p.readyErr != nil {
			r.Failed++
			continue
		}
		r.Ok++
		at = append(at, p.readyMs)
		after = append(after, p.afterAddMs)
	}
	if len(at) == 0 {
		return r
	}
	sort.Float64s(at)
	sort.Float64s(after)
	r.P50, r.P90, r.Max, r.AllMs = percentile(at, 50), percentile(at, 90), round(at[len(at)-1]), round(at[len(at)-1])
	r.AfterAddP50Ms = percentile(after, 50)
	return r
}

// percentile: nearest rank over sorted values.
func percentile(sorted []float64, p int) float64 {
	rank := (p*len(sorted) + 99) / 100
	if rank < 1 {
		rank = 1
	}
	return round(sorted[rank-1])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

// inNetns runs fn on a goroutine locked to a thread that joined the namespace at path. The thread is never given
// back: it exits with the goroutine, so no other goroutine ever runs in that namespace. Sockets fn creates stay in
// the namespace wherever they are used afterwards.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open %s: %w", path, err)
			return
		}
		defer syscall.Close(fd)
		if _, _, errno := syscall.RawSyscall(sysSetns(), uintptr(fd), syscall.CLONE_NEWNET, 0); errno != 0 {
			errc <- fmt.Errorf("setns %s: %w", path, errno)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// sysSetns is setns(2)'s number: Go's syscall package does not name it.
func sysSetns() uintptr {
	switch runtime.GOARCH {
	case "amd64":
		return 308
	case "arm64", "riscv64":
		return 268
	case "386":
		return 346
	case "arm":
		return 375
	case "ppc64", "ppc64le":
		return 350
	case "s390x":
		return 339
	}
	panic("setns: unknown system call number on " + runtime.GOARCH)
}

// icmpSocket opens a raw ICMP socket inside a namespace.
func icmpSocket(netns string) (*net.IPConn, error) {
	var conn *net.IPConn
	err := inNetns(netns, func() error {
		c, err := net.ListenIP("ip4:icmp", &net.IPAddr{IP: net.IPv4zero})
		conn = c
		return err
	})
	return conn, err
}

func echoRequest(id, seq uint16) []byte {
	msg := make([]byte, 16)
	msg[0] = 8 // echo request
	binary.BigEndian.PutUint16(msg[4:], id)
	binary.BigEndian.PutUint16(msg[6:], seq)
	binary.BigEndian.PutUint64(msg[8:], uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint16(msg[2:], checksum(msg))
	return msg
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// parseReply returns the id and sequence of an echo reply from the expected peer (the kernel strips the IPv4 header).
func parseReply(b []byte, from net.Addr, peer net.IP) (uint16, uint16, bool) {
	addr, ok := from.(*net.IPAddr)
	if !ok || !addr.IP.Equal(peer) || len(b) < 8 || b[0] != 0 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]), true
}

// pingUntilAnswered sends an echo request every 20 ms from inside netns until target answers or the deadline passes.
func pingUntilAnswered(netns, target string, deadline time.Time) error {
	peer := net.ParseIP(target).To4()
	if peer == nil {
		return fmt.Errorf("not an IPv4 address: %q", target)
	}
	conn, err := icmpSocket(netns)
	if err != nil {
		return err
	}
	defer conn.Close()
	id := uint16(rand.Intn(0xffff))
	buf := make([]byte, 1500)
	for seq := uint16(1); time.Now().Before(deadline); seq++ {
		// Before the pod's interface is up, sending fails (no route): that is "not ready yet", like no reply.
		_, _ = conn.WriteTo(echoRequest(id, seq), &net.IPAddr{IP: peer})
		wait := time.Now().Add(20 * time.Millisecond)
		for {
			_ = conn.SetReadDeadline(wait)
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				break // the 20 ms are over: send the next one
			}
			if rid, _, ok := parseReply(buf[:n], from, peer); ok && rid == id {
				return nil
			}
		}
		if time.Now().Before(wait) {
			time.Sleep(time.Until(wait)) // the send failed at once: keep the 20 ms pace
		}
	}
	return fmt.Errorf("no echo reply from %s within the deadline", target)
}

type watcher struct {
	conn     *net.IPConn
	peer     net.IP
	interval time.Duration
	id       uint16
	stopc    chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	sent     map[uint16]time.Time
	received map[uint16]bool
	maxRtt   time.Duration
	err      string
}

// startWatch pings target from inside netns every interval until stop.
func startWatch(netns, target string, interval time.Duration) (*watcher, error) {
	peer := net.ParseIP(target).To4()
	if peer == nil {
		return nil, fmt.Errorf("not an IPv4 address: %q", target)
	}
	conn, err := icmpSocket(netns)
	if err != nil {
		return nil, err
	}
	w := &watcher{conn: conn, peer: peer, interval: interval, id: uint16(rand.Intn(0xffff)), stopc: make(chan struct{}), done: make(chan struct{}),
		sent: map[uint16]time.Time{}, received: map[uint16]bool{}}
	go w.receive()
	go w.send()
	return w, nil
}

func (w *watcher) send() {
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for seq := uint16(1); ; seq++ {
		w.mu.Lock()
		w.sent[seq] = time.Now()
		w.mu.Unlock()
		if _, err := w.conn.WriteTo(echoRequest(w.id, seq), &net.IPAddr{IP: w.peer}); err != nil {
			w.mu.Lock()
			if w.err == "" {
				w.err = fmt.Sprintf("sending echo %d: %v", seq, err)
			}
			w.mu.Unlock()
		}
		select {
		case <-w.stopc:
			close(w.done)
			return
		case <-ticker.C:
		}
	}
}

func (w *watcher) receive() {
	buf := make([]byte, 1500)
	for {
		n, from, err := w.conn.ReadFrom(buf)
		if err != nil {
			return // closed by stop
		}
		id, seq, ok := parseReply(buf[:n], from, w.peer)
		if !ok || id != w.id {
			continue
		}
		w.mu.Lock()
		if at, known := w.sent[seq]; known && !w.received[seq] {
			w.received[seq] = true
			if rtt := time.Since(at); rtt > w.maxRtt {
				w.maxRtt = rtt
			}
		}
		w.mu.Unlock()
	}
}

// stop ends the sending, gives the last echo a second to come back, and counts.
func (w *watcher) stop() Watch {
	close(w.stopc)
	<-w.done
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		all := len(w.received) == len(w.sent)
		w.mu.Unlock()
		if all {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.conn.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	return Watch{IntervalMs: ms(w.interval), Sent: len(w.sent), Received: len(w.received), Lost: len(w.sent) - len(w.received),
		MaxRttMs: round(ms(w.maxRtt)), Error: w.err}
}
