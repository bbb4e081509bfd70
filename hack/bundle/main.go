// Command bundle writes edgeforge's OLM bundle: bundle/manifests (CSV, CRDs, Service, ...),
// bundle/metadata/annotations.yaml, bundle/tests/scorecard/config.yaml and bundle.Dockerfile.
//
// It reads config/default as rendered by hack/render-default.sh on stdin:
//
//	hack/render-default.sh IMG | go run ./hack/bundle --version 0.1.0 --image IMG [--replaces edgeforge.v0.0.9]
//
// `make bundle VERSION=… IMG=… [REPLACES=…]` does exactly that. Output is deterministic.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/edgeforge/edgeforge/hack/bundle/bundlegen"
)

func main() {
	var (
		opts     bundlegen.Options
		channels string
		root     string
	)
	flag.StringVar(&opts.Version, "version", "", "bundle version, semver without a leading v (e.g. 0.1.0)")
	flag.StringVar(&opts.Replaces, "replaces", "", "the CSV this version upgrades from, e.g. edgeforge.v0.0.9 (optional)")
	flag.StringVar(&opts.Image, "image", "", "operator image (the one the render on stdin was made with)")
	flag.StringVar(&channels, "channels", "alpha", "comma-separated channels the bundle is published in")
	flag.StringVar(&opts.DefaultChannel, "default-channel", "alpha", "default channel of the package")
	flag.StringVar(&root, "root", ".", "repository root")
	flag.Parse()
	opts.Channels = strings.Split(channels, ",")

	if err := run(opts, root); err != nil {
		fmt.Fprintln(os.Stderr, "bundle:", err)
		os.Exit(1)
	}
}

func run(opts bundlegen.Options, root string) error {
	rendered, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	if len(rendered) == 0 {
		return fmt.Errorf("nothing on stdin: pipe hack/render-default.sh IMG into it (make bundle does)")
	}
	in, err := bundlegen.ReadInputs(root, rendered)
	if err != nil {
		return err
	}
	files, err := bundlegen.Generate(opts, in)
	if err != nil {
		return err
	}
	if err := bundlegen.Write(root, files); err != nil {
		return err
	}
	fmt.Printf("bundle: wrote %d files for %s (image %s) under %s/ and %s\n",
		len(files)-1, bundlegen.CSVName(opts.Version), opts.Image, bundlegen.BundleDir, bundlegen.BundleDockerfile)
	return nil
}
