// vmsnap-admission: the platforms' admission webhooks for the playground, called by
// kube-apiserver through ValidatingWebhookConfigurations (src/playground/webhooks.ts).
//
// KubeVirt's rules are upstream's own admitters, imported from kubevirt.io/kubevirt (see
// kubevirt.go). Deckhouse's validator is not importable (its module, virtualization-controller,
// lives in a sub-directory under a path the Go proxy does not serve), so deckhouse.go mirrors it.
//
// The server makes its own CA and serving certificate at start-up and writes the CA to --ca-file
// (the caBundle of the webhook configurations); /readyz answers 200 once the informers the
// admitters read are synced.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the identity the admitters read the cluster as")
	listen := flag.String("listen", "127.0.0.1:0", "address to serve HTTPS on")
	caFile := flag.String("ca-file", "", "where to write the PEM CA that signed the serving certificate")
	portFile := flag.String("port-file", "", "where to write the port actually listened on")
	flag.Parse()
	if err := run(*kubeconfig, *listen, *caFile, *portFile); err != nil {
		fmt.Fprintln(os.Stderr, "vmsnap-admission:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, listen, caFile, portFile string) error {
	if kubeconfig == "" || caFile == "" {
		return fmt.Errorf("--kubeconfig and --ca-file are required")
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("reading %s: %w", kubeconfig, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cert, caPEM, err := selfSignedServing()
	if err != nil {
		return err
	}
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		return err
	}

	mux := http.NewServeMux()
	var ready atomic.Bool
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "informers not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	kubevirt, err := newKubeVirtAdmission(restConfig)
	if err != nil {
		return err
	}
	kubevirt.register(mux)
	deckhouse, err := newDeckhouseAdmission(restConfig)
	if err != nil {
		return err
	}
	deckhouse.register(mux)

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if portFile != "" {
		port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
		if err := os.WriteFile(portFile, []byte(port), 0o644); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ServeTLS(ln, "", "") }()

	if err := kubevirt.start(ctx); err != nil {
		return err
	}
	ready.Store(true)
	fmt.Fprintf(os.Stderr, "vmsnap-admission: serving on https://%s\n", ln.Addr())

	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	case err := <-serveErr:
		return err
	}
}
