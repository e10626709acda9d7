package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/planktos/planktos/stun"
	"github.com/spf13/pflag"
	"golang.org/x/crypto/acme/autocert"
)

// tlsFlags are the TLS flags of `planktos tracker` and `planktos serve`: a certificate of the owner's
// (--tls-cert, --tls-key), or one from Let's Encrypt by ACME (--tls-domain), never both.
type tlsFlags struct {
	cert, key string
	domains   []string
	cache     string

	files *certFiles // the certificate files config last loaded, for tests
}

func (f *tlsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS/wss with this PEM certificate (chain) file; needs --tls-key")
	fs.StringVar(&f.key, "tls-key", "", "the PEM private key of --tls-cert")
	fs.StringSliceVar(&f.domains, "tls-domain", nil, "serve HTTPS/wss with a Let's Encrypt certificate for this name, "+
		"obtained on the listening port (TLS-ALPN-01: it must be reachable as NAME:443); repeatable or comma-separated")
	fs.StringVar(&f.cache, "tls-cache", defaultACMECache(), "folder keeping --tls-domain's account key and certificates")
}

// defaultACMECache is where --tls-domain keeps its certificates: the user's cache folder (e.g.
// ~/.cache/planktos/acme), else a folder in the working directory.
func defaultACMECache() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "planktos", "acme")
	}
	return "planktos-acme"
}

// on reports whether TLS was asked for.
func (f *tlsFlags) on() bool { return f.cert != "" || f.key != "" || len(f.domains) > 0 }

// config returns the TLS configuration the flags ask for, or nil without TLS flags. Its errors name the
// flag to fix.
func (f *tlsFlags) config() (*tls.Config, error) {
	switch {
	case !f.on():
		return nil, nil
	case (f.cert != "" || f.key != "") && len(f.domains) > 0:
		return nil, errors.New("give either --tls-cert and --tls-key (a certificate of yours) or --tls-domain " +
			"(a certificate from Let's Encrypt), not both")
	case len(f.domains) > 0:
		m, err := f.manager()
		if err != nil {
			return nil, err
		}
		return m.TLSConfig(), nil
	case f.cert == "":
		return nil, errors.New("--tls-key needs --tls-cert: the certificate file (PEM) that goes with the key")
	case f.key == "":
		return nil, errors.New("--tls-cert needs --tls-key: the private key file (PEM) of the certificate")
	}
	r := &certFiles{cert: f.cert, key: f.key}
	if _, err := r.load(); err != nil {
		return nil, err
	}
	f.files = r
	return &tls.Config{GetCertificate: r.get}, nil
}

// manager is the ACME client of --tls-domain: it answers TLS-ALPN-01 challenges on the listening port and
// asks only for the names given.
func (f *tlsFlags) manager() (*autocert.Manager, error) {
	var names []string
	for _, d := range f.domains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, "/:*") || net.ParseIP(d) != nil || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("--tls-domain %q is not a domain name; give the name browsers use, like "+
				"--tls-domain tracker.example.org (Let's Encrypt certifies no IP address or wildcard here)", d)
		}
		names = append(names, d)
	}
	if len(names) == 0 {
		return nil, errors.New("--tls-domain is empty; give the name browsers use, like --tls-domain tracker.example.org")
	}
	if err := os.MkdirAll(f.cache, 0o700); err != nil {
		return nil, fmt.Errorf("--tls-cache %s: %w (give a writable folder)", f.cache, err)
	}
	return &autocert.Manager{Prompt: autocert.AcceptTOS, HostPolicy: autocert.HostWhitelist(names...),
		Cache: autocert.DirCache(f.cache)}, nil
}

// certFiles serves the certificate in the files cert and key, and reads them again when either changes
// (a renewal by certbot or the like), checking at most every 10 s; a renewal that does not load keeps the
// certificate in use.
type certFiles struct {
	cert, key string

	mu      sync.Mutex
	current *tls.Certificate
	stamp   string // modification times and sizes the current certificate was read at
	checked time.Time
}

// stampOf describes the files' versions.
func (c *certFiles) stampOf() string {
	var s strings.Builder
	for _, p := range []string{c.cert, c.key} {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&s, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return s.String()
}

// load reads and checks the pair; its errors name the flag and the fix.
func (c *certFiles) load() (*tls.Certificate, error) {
	stamp := c.stampOf()
	certPEM, err := os.ReadFile(c.cert)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert: %w (give the certificate file, PEM, e.g. fullchain.pem)", err)
	}
	keyPEM, err := os.ReadFile(c.key)
	if err != nil {
		return nil, fmt.Errorf("--tls-key: %w (give the private key file, PEM, e.g. privkey.pem)", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "does not match"):
			return nil, fmt.Errorf("--tls-key %s is not the private key of --tls-cert %s (give the key the "+
				"certificate was made for)", c.key, c.cert)
		case strings.Contains(msg, "find any PEM data in certificate") || strings.Contains(msg, "certificate input"):
			return nil, fmt.Errorf("--tls-cert %s holds no PEM certificate (%v); give the certificate file, "+
				"e.g. fullchain.pem", c.cert, err)
		case strings.Contains(msg, "key"):
			return nil, fmt.Errorf("--tls-key %s holds no usable PEM private key (%v); give the key file, "+
				"e.g. privkey.pem", c.key, err)
		}
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w", c.cert, c.key, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("--tls-cert %s: %w", c.cert, err)
		}
	}
	c.mu.Lock()
	c.current, c.stamp, c.checked = &pair, stamp, time.Now()
	c.mu.Unlock()
	return &pair, nil
}

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	cur, stale := c.current, time.Since(c.checked) > 10*time.Second
	if stale {
		c.checked = time.Now()
	}
	stamp := c.stamp
	c.mu.Unlock()
	if stale && c.stampOf() != stamp {
		if pair, err := c.load(); err == nil {
			return pair, nil
		}
	}
	return cur, nil
}

// listenTCP opens addr for HTTP; its error names --addr.
func listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		err = fmt.Errorf("listen on %s: %w (pick another port with --addr)", addr, err)
		return nil, usageError{err}
	}
	return ln, nil
}

// serveHTTP serves h on ln (with TLS when tlsCfg is not nil), calls ready with the address, and serves
// until ctx ends; then it stops listening and waits up to 5 s for requests in flight. (Hijacked
// WebSocket connections are their owner's to close.) An error from ready closes the listener and is
// returned.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, tlsCfg *tls.Config, ready func(net.Addr) error) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsCfg}
	errc := make(chan error, 1)
	go func() { // serving already: ready may connect to it
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	if err := ready(ln.Addr()); err != nil {
		srv.Close()
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// startSTUN opens the STUN server of --stun ADDR; its error names the flag and the fix.
func startSTUN(addr string) (*stun.Server, error) {
	s, err := stun.Listen(addr)
	if err != nil {
		err = fmt.Errorf("--stun %s: %w (pick another UDP address with --stun, or --stun off)", addr, err)
		return nil, usageError{err}
	}
	return s, nil
}

// stunURL is the stun: URL of a STUN server listening at a, for people: 0.0.0.0 and [::] stay as they are,
// like the tracker's address line.
func stunURL(a net.Addr) string {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return "stun:" + a.String()
	}
	return "stun:" + net.JoinHostPort(ua.IP.String(), strconv.Itoa(ua.Port))
}

// scheme returns the http and ws schemes of a server with or without TLS.
func scheme(tlsOn bool) (string, string) {
	if tlsOn {
		return "https", "wss"
	}
	return "http", "ws"
}
