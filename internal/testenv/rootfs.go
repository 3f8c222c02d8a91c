package testenv

import (
	"archive/tar"
	"bytes"
	"time"
)

// passwd and group are the test images' users: root and nobody.
const (
	passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group  = "root:x:0:\nnogroup:x:65534:\n"
)

// rootFS writes an image's root filesystem as a tar: the same bytes for
// the same files, so its hash tells whether a local image is current.
type rootFS struct {
	buf bytes.Buffer
	tw  *tar.Writer
	err error // the first error; later writes do nothing
}

func newRootFS() *rootFS {
	fs := &rootFS{}
	fs.tw = tar.NewWriter(&fs.buf)
	return fs
}

func (fs *rootFS) add(h tar.Header, body []byte) {
	if fs.err != nil {
		return
	}
	h.ModTime, h.Size = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), int64(len(body))
	if fs.err = fs.tw.WriteHeader(&h); fs.err == nil {
		_, fs.err = fs.tw.Write(body)
	}
}

// dir adds a directory; name ends in "/".
func (fs *rootFS) dir(name string, mode int64) {
	fs.add(tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: mode}, nil)
}

func (fs *rootFS) file(name string, mode int64, body []byte) {
	fs.add(tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode}, body)
}

func (fs *rootFS) symlink(name, target string) {
	fs.add(tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}, nil)
}

// bytes ends the tar and returns it.
func (fs *rootFS) bytes() ([]byte, error) {
	if fs.err == nil {
		fs.err = fs.tw.Close()
	}
	return fs.buf.Bytes(), fs.err
}
