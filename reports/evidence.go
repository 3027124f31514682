package reports

// Evidence is what a cell's relay saw, as files relative to the run folder (forward slashes):
// the capture of both directions, its dissection, a readable frame log, and the key logs that
// decrypt the capture in Wireshark. Empty fields name no file.
type Evidence struct {
	// Capture is the pcapng of every datagram between client and server (wire.pcapng).
	Capture string `json:"capture,omitempty"`
	// Wire is the capture dissected: handshake, transport parameters, closes, streams (wire.json).
	Wire string `json:"wire,omitempty"`
	// FrameLog is one line per datagram with its packets and frames (wire.txt); wire checks name
	// its frame numbers, which are the capture's.
	FrameLog string `json:"frame_log,omitempty"`
	// KeyLog is both sides' TLS secrets (SSLKEYLOGFILE format) for Wireshark's TLS preferences.
	KeyLog string `json:"key_log,omitempty"`
}

// files are the evidence's files with their labels, in the order the report shows them.
func (e *Evidence) files() []fileLink {
	if e == nil {
		return nil
	}
	var out []fileLink
	for _, f := range []fileLink{{e.Capture, "pcapng"}, {e.Wire, "wire.json"}, {e.FrameLog, "frames"}, {e.KeyLog, "key log"}} {
		if f.Name != "" {
			out = append(out, f)
		}
	}
	return out
}
