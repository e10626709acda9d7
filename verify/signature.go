package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
)

// fixResign is the fix for a signed package whose parts disagree.
const fixResign = "deploy planktos/manifest.json, planktos/manifest.sig and planktos.sw.js together, as packaging " +
	"wrote them (or package again with the site's signing_key, then deploy the whole publish folder)"

// checkSignature checks that a signed package's planktos/manifest.sig verifies over the manifest's exact
// bytes under its key, and that planktos.sw.js pins that key: else visitors' workers refuse the updates
// peers bring. An unsigned package passes, saying so (and warns of a leftover manifest.sig).
func (r *run) checkSignature(ctx context.Context) Check {
	if r.m == nil {
		return noManifest(CheckSignature)
	}
	sig, err := readAll(ctx, r.src, manifest.SigPath, 4<<10)
	if r.m.Key == "" {
		if err == nil {
			return warn(CheckSignature, "delete planktos/manifest.sig from the host (a deploy that removes files "+
				"packaging removed does this)", "the package is unsigned, but %s is there: a leftover of a signed "+
				"package", r.src.where(manifest.SigPath))
		}
		return pass(CheckSignature, "the package is unsigned (no signing_key): returning visitors take new "+
			"revisions from the origin only")
	}
	pub, perr := manifest.ParseKey(r.m.Key)
	switch {
	case perr != nil:
		return fail(CheckSignature, fixRepack, "the manifest's key: %v", perr)
	case errors.Is(err, fs.ErrNotExist):
		return fail(CheckSignature, fixResign, "the manifest is signed by key %s, but %s is missing: visitors "+
			"cannot check it, and no peer will take it", r.m.Key, r.src.where(manifest.SigPath))
	case err != nil:
		return fail(CheckSignature, fixDeploy, "cannot read the signature: %v", err)
	}
	if err := manifest.Verify(pub, r.raw, sig); err != nil {
		return fail(CheckSignature, fixResign, "%s does not verify over %s under its key %s (%v): the manifest or "+
			"its signature changed after packaging, or they come from different runs", manifest.SigPath,
			manifest.Path, r.m.Key, err)
	}
	signed := fmt.Sprintf("signed by key %s, sequence %d", r.m.Key, r.m.Sequence)
	if r.m.Disabled {
		return pass(CheckSignature, "%s: the kill switch, %s", manifest.SigPath, signed)
	}
	sw, err := readAll(ctx, r.src, swPath, 16<<20)
	if err != nil {
		return fail(CheckSignature, fixDeploy, "the package is %s, but planktos.sw.js cannot be read: %v", signed, err)
	}
	if p, _ := packager.ParsePrelude(sw); p.Key != r.m.Key {
		pinned := "no key"
		if p.Key != "" {
			pinned = "key " + p.Key
		}
		return fail(CheckSignature, fixResign, "the package is %s, but %s pins %s: visitors' service workers would "+
			"refuse the updates their peers bring", signed, r.src.where(swPath), pinned)
	}
	return pass(CheckSignature, "%s verifies: %s; planktos.sw.js pins the same key", manifest.SigPath, signed)
}
