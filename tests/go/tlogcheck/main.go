// tlogcheck checks clementine's audit log with the Go reference packages that the Go checksum
// database uses (golang.org/x/mod/sumdb/note and tlog), so that what clementine signs and
// proves is checked by code nobody here wrote.
//
//	tlogcheck EXPORT_DIR PROOFS_JSON
//
// EXPORT_DIR is `clementine audit export`'s output; PROOFS_JSON holds an inclusion proof and a
// consistency proof as GET /apiv1/audit/proof/... answered them, and the older checkpoint's
// size. It opens the latest checkpoint with the verifier key, recomputes its root from the
// hash tiles, checks the inclusion proof against it and the leaf hash against the entry bundle,
// and checks the consistency proof between the two checkpoints. It prints "ok" or fails.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type proofs struct {
	Inclusion struct {
		LeafIndex int64    `json:"leaf_index"`
		TreeSize  int64    `json:"tree_size"`
		LeafHash  string   `json:"leaf_hash"`
		Hashes    []string `json:"hashes"`
	} `json:"inclusion"`
	Consistency struct {
		From   int64    `json:"from"`
		To     int64    `json:"to"`
		Hashes []string `json:"hashes"`
	} `json:"consistency"`
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

func read(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	return data
}

// open verifies a signed checkpoint and returns its size and root.
func open(verifier note.Verifier, msg []byte) (int64, tlog.Hash) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint is not a C2SP checkpoint of origin %q: %q", verifier.Name(), n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}
	return size, root
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			fail("proof hash %q: %v", s, err)
		}
		out[i] = h
	}
	return out
}

// tiles reads the export's hash tiles (C2SP paths: tlog's without the height).
type tiles struct{ dir string }

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(list []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(list))
	for i, tile := range list {
		path := strings.Replace(tile.Path(), "tile/8/", "tile/", 1)
		data, err := os.ReadFile(filepath.Join(t.dir, path))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// leaf returns entry n's bytes from the export's entry bundles.
func leaf(dir string, n int64, size int64) []byte {
	tile := tlog.TileForIndex(8, tlog.StoredHashIndex(0, n))
	tile.L = -1
	width := size - tile.N*256
	if width > 256 {
		width = 256
	}
	tile.W = int(width)
	path := strings.Replace(tile.Path(), "tile/8/data/", "tile/entries/", 1)
	bundle := read(filepath.Join(dir, path))
	for i := int64(0); len(bundle) >= 2; i++ {
		length := int(binary.BigEndian.Uint16(bundle))
		if 2+length > len(bundle) {
			fail("entry bundle %s is cut short", path)
		}
		if i == n%256 {
			return bundle[2 : 2+length]
		}
		bundle = bundle[2+length:]
	}
	fail("entry %d is not in bundle %s", n, path)
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: tlogcheck EXPORT_DIR PROOFS_JSON")
	}
	dir := os.Args[1]
	verifier, err := note.NewVerifier(strings.TrimSpace(string(read(filepath.Join(dir, "key")))))
	if err != nil {
		fail("verifier key: %v", err)
	}
	size, root := open(verifier, read(filepath.Join(dir, "checkpoint")))

	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles{dir})
	computed, err := tlog.TreeHash(size, reader)
	if err != nil || computed != root {
		fail("the tiles do not give the checkpoint's root: %v", err)
	}

	var p proofs
	if err := json.Unmarshal(read(os.Args[2]), &p); err != nil {
		fail("proofs: %v", err)
	}
	in := p.Inclusion
	if in.TreeSize != size {
		fail("inclusion proof is for size %d, checkpoint is %d", in.TreeSize, size)
	}
	leafHash, err := tlog.ParseHash(in.LeafHash)
	if err != nil {
		fail("leaf hash: %v", err)
	}
	if tlog.RecordHash(leaf(dir, in.LeafIndex, size)) != leafHash {
		fail("entry %d in the bundle does not hash to the proven leaf", in.LeafIndex)
	}
	if err := tlog.CheckRecord(hashes(in.Hashes), size, root, in.LeafIndex, leafHash); err != nil {
		fail("inclusion proof: %v", err)
	}

	c := p.Consistency
	oldSize, oldRoot := open(verifier, read(filepath.Join(dir, "checkpoints", strconv.FormatInt(c.From, 10))))
	if oldSize != c.From || c.To != size {
		fail("consistency proof is %d..%d, checkpoints are %d..%d", c.From, c.To, oldSize, size)
	}
	if err := tlog.CheckTree(hashes(c.Hashes), size, root, oldSize, oldRoot); err != nil {
		fail("consistency proof: %v", err)
	}
	fmt.Println("ok")
}
