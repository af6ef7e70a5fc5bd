package manifest

// What the tests of other packages (internal/hls) see of a Writer.

// Held is how many bytes of rewritten output w holds room for.
func Held(w *Writer) int { return cap(w.buf) }

// Lost reports whether w saw the client's connection fail.
func Lost(w *Writer) bool { return w.lost != nil }

// In is how many decoded bytes w took.
func In(w *Writer) int64 { return w.in }
