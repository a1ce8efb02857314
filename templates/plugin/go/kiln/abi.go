package kiln

// The canonical ABI of the contract's two exports, written out: `info`
// returns a plugin-info record, `render` takes a request record (by
// pointer: it has more than 16 flat values) and returns a
// result<response, error>, both through a pointer to memory this module
// allocates. Offsets follow the canonical ABI's layout of wit/plugin.wit.

import (
	"encoding/json"
	"unsafe"
)

// kept holds every block handed to the host; a component instance serves
// one call, so nothing needs freeing.
var kept [][]byte

//go:wasmexport cabi_realloc
func cabiRealloc(oldPtr, oldSize, align, newSize uint32) uint32 {
	p := alloc(newSize, align)
	if oldSize > 0 {
		copy(mem(p, min(oldSize, newSize)), mem(oldPtr, min(oldSize, newSize)))
	}
	return p
}

// arena serves allocations made while the Go runtime starts (the WASI
// adapter asks for its state through cabi_realloc then, before the heap
// exists); ready is set by this package's init, after the runtime's.
var (
	arena [256 << 10]byte
	used  uint32
	ready bool
)

func init() { ready = true }

func alloc(size, align uint32) uint32 {
	if size == 0 {
		return align
	}
	if !ready {
		base := uint32(uintptr(unsafe.Pointer(&arena[0])))
		p := (base + used + align - 1) &^ (align - 1)
		if p+size > base+uint32(len(arena)) {
			panic("kiln: the start-up arena is exhausted")
		}
		used = p + size - base
		return p
	}
	b := make([]byte, size+align)
	kept = append(kept, b)
	p := uint32(uintptr(unsafe.Pointer(&b[0])))
	return (p + align - 1) &^ (align - 1)
}

func mem(p, n uint32) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n) }
func u32(p uint32) uint32    { return *(*uint32)(unsafe.Pointer(uintptr(p))) }
func put32(p, v uint32)      { *(*uint32)(unsafe.Pointer(uintptr(p))) = v }
func put8(p uint32, v uint8) { *(*uint8)(unsafe.Pointer(uintptr(p))) = v }

// str reads a string (pointer, length) at p.
func str(p uint32) string { return string(mem(u32(p), u32(p+4))) }

// optStr reads an option<string> at p.
func optStr(p uint32) string {
	if *(*uint8)(unsafe.Pointer(uintptr(p))) == 0 {
		return ""
	}
	return str(p + 4)
}

// strs reads a list<string> at p.
func strs(p uint32) []string {
	base, n := u32(p), u32(p+4)
	out := make([]string, n)
	for i := range n {
		out[i] = str(base + 8*i)
	}
	return out
}

// putStr writes s as (pointer, length) at p.
func putStr(p uint32, s string) {
	q := alloc(uint32(len(s)), 1)
	copy(mem(q, uint32(len(s))), s)
	put32(p, q)
	put32(p+4, uint32(len(s)))
}

// putOptStr writes s as option<string> at p: none when empty.
func putOptStr(p uint32, s string) {
	if s != "" {
		put8(p, 1)
		putStr(p+4, s)
	}
}

//go:wasmexport info
func info() uint32 {
	p := registered
	ret := alloc(36, 4)
	putStr(ret, p.Name)
	putStr(ret+8, p.Version)
	putStr(ret+16, p.Description)
	putOptStr(ret+24, p.ConfigSchema)
	return ret
}

//go:wasmexport render
func render(req uint32) uint32 {
	r := Request{
		ConfigJSON:  str(req + 8),
		AppName:     str(req + 16),
		AppDir:      str(req + 24),
		Namespace:   optStr(req + 32),
		KubeVersion: str(req + 56),
		APIVersions: strs(req + 64),
		Step:        str(req + 72),
	}
	for _, s := range strs(req) {
		r.Resources = append(r.Resources, NewResource(s))
	}
	ret := alloc(64, 4)
	if err := json.Unmarshal([]byte(r.ConfigJSON), &r.Config); err != nil && r.ConfigJSON != "" {
		putError(ret, BadConfig("`with:` is not a JSON object: "+err.Error(), ""))
		return ret
	}
	out, err := registered.Render(r)
	if err != nil {
		putError(ret, err)
		return ret
	}
	list := alloc(uint32(8*len(out)), 4)
	for i, res := range out {
		putStr(list+uint32(8*i), res.String())
	}
	put32(ret+4, list)
	put32(ret+8, uint32(len(out)))
	return ret
}

// putError writes the err case of result<response, error> at ret.
func putError(ret uint32, err error) {
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Kind: FailureKind, Message: err.Error()}
	}
	put8(ret, 1)
	put8(ret+4, e.Kind)
	putStr(ret+8, e.Message)
	putOptStr(ret+52, e.Hint)
}
