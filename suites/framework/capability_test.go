package framework

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// A manifest and its driver must agree on every feature with a driver interface, both ways;
// the matrix does not build otherwise.
func TestCheckCapabilities(t *testing.T) {
	server := newFakeServer("srv")
	for _, tc := range []struct {
		name   string
		client ClientPeer
		want   string // "" when the matrix builds
	}{
		{"agree", fakeDecoder{newFakeClient("dec", FeatureTicketDecoder)}, ""},
		{"flag features need no interface", newFakeClient("idle", FeatureIdleDial, FeatureFixedSecret), ""},
		{"declared, not implemented", newFakeClient("liar", FeatureTicketDecoder), "liar declares ticket-decoder but its driver"},
		{"implemented, not declared", fakeDecoder{newFakeClient("shy")}, "shy's driver framework.fakeDecoder is a TicketDecoder but the manifest does not declare ticket-decoder"},
		{"a board feature on a driver that is no board", newFakeClient("fake-board", FeatureReset), "fake-board declares reset but its driver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Matrix{Suite: "test", Clients: []ClientPeer{tc.client}, Servers: []ServerPeer{server}}
			err := m.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Check = %v, want an error with %q", err, tc.want)
			}
		})
	}
	// A peer in a role its manifest does not declare.
	m := &Matrix{Suite: "test", Clients: []ClientPeer{newFakeClient("c")}, Servers: []ServerPeer{&fakeClientServer{newFakeClient("c2")}}}
	if err := m.Check(); err == nil || !strings.Contains(err.Error(), "c2 is a server in the matrix") {
		t.Fatalf("Check = %v, want the undeclared server role named", err)
	}
}

type fakeClientServer struct{ *fakeClient }

func (fakeClientServer) StartServer(ctx context.Context, opts ServerOptions, log *Tap) (Server, error) {
	return nil, nil
}

// Every feature a manifest may declare is in the capability list, once.
func TestEveryFeatureIsACapability(t *testing.T) {
	var seen []Feature
	for _, c := range capabilities {
		if slices.Contains(seen, c.feature) {
			t.Errorf("%s listed twice", c.feature)
		}
		seen = append(seen, c.feature)
	}
	if _, err := ParseManifest([]byte("name: p\nroles: [client]\nfeatures: [" + string(seen[0]) + "]\n")); err != nil {
		t.Fatal(err)
	}
}

// A case's needs label its spec and rule out cells, blaming the peer that lacks the feature.
func TestNeedsLabelsAndBlame(t *testing.T) {
	k := Case{Name: "k", ClientNeeds: []Feature{FeatureTicketDecoder}, ServerNeeds: []Feature{FeatureReset, FeatureTicketDecoder}}
	if got := strings.Join(k.labels(), ","); got != "case:k,needs:ticket-decoder,needs:reset" {
		t.Errorf("labels %s", got)
	}
	client, server := fakeManifest("c", []Role{RoleClient}, FeatureTicketDecoder), fakeManifest("s", []Role{RoleServer})
	blamed, ok := Blamed(k.needs(client, server))
	if !ok || blamed != "s" {
		t.Errorf("blamed %q %v, want the server s", blamed, ok)
	}
	client.Features = nil
	if blamed, _ := Blamed(k.needs(client, server)); blamed != "c" {
		t.Errorf("blamed %q, want the client c", blamed)
	}
	m := &Matrix{Cases: []Case{k},
		Clients: []ClientPeer{newFakeClient("c")},
		Servers: []ServerPeer{newFakeServer("s"), newFakeServer("s-full", FeatureReset, FeatureTicketDecoder)}}
	if got := m.declaredUnsupported("c"); len(got) != 1 {
		t.Errorf("the client without a decoder rules out %v, want k", got)
	}
	if got := m.declaredUnsupported("s-full"); len(got) != 0 {
		t.Errorf("a server with every feature rules out %v: the client is to blame", got)
	}
}
