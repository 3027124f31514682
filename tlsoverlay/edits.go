package main

// The RFC 7250 patch to crypto/tls, one record per edit. Each anchor is a
// literal piece of the installed Go's source and must occur exactly once in
// its file at the time the edit is applied (edits to one file apply in list
// order). Anchors sit on field lists, function headers and distinctive
// statements so that Go patch releases, which change logic inside functions,
// rarely move them; when one does move, generation stops and names it.
//
// The logic lives in _files/rawpublickeys*.go; the edits only wire it in.
var rpkEdits = []Edit{
	// ---- common.go: the API, and TLS 1.3 only ----
	{
		File: "common.go", Op: InsertBefore,
		Why: "the opt-in field on Config",
		Anchor: `	// mutex protects sessionTicketKeys and autoSessionTicketKeys.
`,
		Text: `	// RawPublicKeys enables RFC 7250 raw public keys, in both directions, as
	// iroh uses them. Only TLS 1.3 is negotiated, and only Ed25519 keys are
	// accepted. The single entry of the Certificate sent is the DER
	// SubjectPublicKeyInfo of the key, and the peer's must be the same.
	//
	// No X.509 verification happens: VerifyPeerCertificate is called with
	// rawCerts = [peer SPKI] and nil verifiedChains; VerifyConnection runs
	// later than with X.509, once the peer's CertificateVerify proved that it
	// holds the key, with PeerCertificates[0] a certificate carrying only the
	// peer's PublicKey and RawSubjectPublicKeyInfo. A client must set at least
	// one of them (the handshake is refused otherwise; InsecureSkipVerify does
	// not waive this) and does not need ServerName. A server always requires
	// a client key, whatever ClientAuth says. A server issues session tickets
	// and resumes the raw public key sessions they hold (unless
	// SessionTicketsDisabled): a resumed connection reports the client key of
	// the session it resumes, and runs VerifyConnection (VerifyPeerCertificate,
	// as with X.509, is not called again). A client neither stores nor uses
	// tickets. Encrypted Client Hello is not supported with it.
	RawPublicKeys bool

`,
	},
	{
		File: "common.go", Op: InsertAfter,
		Why: "Clone copies the field (quic-go clones the Config on every dial and accept)",
		Anchor: `		EncryptedClientHelloKeys:            c.EncryptedClientHelloKeys,
`,
		Text: `		RawPublicKeys:                       c.RawPublicKeys,
`,
	},
	{
		File: "common.go", Op: InsertBefore,
		Why: "RawPublicKeys takes every version below TLS 1.3 out of negotiation, on both sides",
		Anchor: `		if isClient && c.EncryptedClientHelloConfigList != nil && v < VersionTLS13 {
`,
		Text: `		if c != nil && c.RawPublicKeys && v < VersionTLS13 {
			continue // RFC 7250 support is TLS 1.3 only
		}
`,
	},

	// ---- conn.go: the negotiated state ----
	{
		File: "conn.go", Op: InsertAfter,
		Why: "whether raw public keys were negotiated on this connection",
		Anchor: `	didResume        bool // whether this connection was a session resumption
`,
		Text: `	rawPublicKeys    bool // whether RFC 7250 raw public keys were negotiated
`,
	},

	// ---- handshake_messages.go: ClientHello ----
	{
		File: "handshake_messages.go", Op: InsertBefore,
		Why: "ClientHello fields for extensions 19 and 20",
		Anchor: `	// extensions are only populated on the server-side of a handshake
	extensions []uint16
`,
		Text: `	clientCertificateTypes           []uint8 // RFC 7250
	serverCertificateTypes           []uint8 // RFC 7250
`,
	},
	{
		File: "handshake_messages.go", Op: InsertAfter,
		Why: "ClientHello marshalling, outside the block ECH may compress",
		Anchor: `			exts.AddBytes(m.quicTransportParameters)
		})
	}
`,
		Text: `	if len(m.clientCertificateTypes) > 0 {
		// RFC 7250, Section 4.1
		exts.AddUint16(extensionClientCertificateType)
		exts.AddUint16LengthPrefixed(func(exts *cryptobyte.Builder) {
			exts.AddUint8LengthPrefixed(func(exts *cryptobyte.Builder) {
				exts.AddBytes(m.clientCertificateTypes)
			})
		})
	}
	if len(m.serverCertificateTypes) > 0 {
		// RFC 7250, Section 4.1
		exts.AddUint16(extensionServerCertificateType)
		exts.AddUint16LengthPrefixed(func(exts *cryptobyte.Builder) {
			exts.AddUint8LengthPrefixed(func(exts *cryptobyte.Builder) {
				exts.AddBytes(m.serverCertificateTypes)
			})
		})
	}
`,
	},
	{
		File: "handshake_messages.go", Op: InsertBefore,
		Why: "ClientHello parsing: a non-empty uint8 list each",
		Anchor: `		case extensionPreSharedKey:
			// RFC 8446, Section 4.2.11
`,
		Text: `		case extensionClientCertificateType:
			// RFC 7250, Section 4.1
			if !readUint8LengthPrefixed(&extData, &m.clientCertificateTypes) ||
				len(m.clientCertificateTypes) == 0 {
				return false
			}
		case extensionServerCertificateType:
			// RFC 7250, Section 4.1
			if !readUint8LengthPrefixed(&extData, &m.serverCertificateTypes) ||
				len(m.serverCertificateTypes) == 0 {
				return false
			}
`,
	},
	{
		File: "handshake_messages.go", Op: InsertAfter,
		Why: "ClientHello clone copies the new fields",
		Anchor: `		encryptedClientHello:             slices.Clone(m.encryptedClientHello),
`,
		Text: `		clientCertificateTypes:           slices.Clone(m.clientCertificateTypes),
		serverCertificateTypes:           slices.Clone(m.serverCertificateTypes),
`,
	},

	// ---- handshake_messages.go: EncryptedExtensions ----
	{
		File: "handshake_messages.go", Op: InsertAfter,
		Why: "EncryptedExtensions fields: the selected type of each direction, when present",
		Anchor: `	serverNameAck           bool
`,
		Text: `	// RFC 7250: a single selected type each, present or not.
	clientCertificateType    uint8
	serverCertificateType    uint8
	hasClientCertificateType bool
	hasServerCertificateType bool
`,
	},
	{
		File: "handshake_messages.go", Op: InsertAfter,
		Why: "EncryptedExtensions marshalling",
		Anchor: `			if m.serverNameAck {
				b.AddUint16(extensionServerName)
				b.AddUint16(0) // empty extension_data
			}
`,
		Text: `			if m.hasClientCertificateType {
				// RFC 7250, Section 4.2
				b.AddUint16(extensionClientCertificateType)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8(m.clientCertificateType)
				})
			}
			if m.hasServerCertificateType {
				// RFC 7250, Section 4.2
				b.AddUint16(extensionServerCertificateType)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8(m.serverCertificateType)
				})
			}
`,
	},
	{
		File: "handshake_messages.go", Op: InsertBefore,
		Why: "EncryptedExtensions parsing: exactly one byte each",
		Anchor: `		case extensionEncryptedClientHello:
			m.echRetryConfigs = make([]byte, len(extData))
`,
		Text: `		case extensionClientCertificateType:
			// RFC 7250, Section 4.2
			if !extData.ReadUint8(&m.clientCertificateType) {
				return false
			}
			m.hasClientCertificateType = true
		case extensionServerCertificateType:
			// RFC 7250, Section 4.2
			if !extData.ReadUint8(&m.serverCertificateType) {
				return false
			}
			m.hasServerCertificateType = true
`,
	},

	// ---- handshake_client.go ----
	{
		File: "handshake_client.go", Op: Replace,
		Why: "refuse unusable RawPublicKeys configs up front; ServerName is optional with raw keys",
		Anchor: `	if len(config.ServerName) == 0 && !config.InsecureSkipVerify {
`,
		Text: `	if err := config.checkRawPublicKeys(roleClient); err != nil {
		return nil, nil, nil, err
	}
	if len(config.ServerName) == 0 && !config.InsecureSkipVerify && !config.RawPublicKeys {
`,
	},
	{
		File: "handshake_client.go", Op: InsertAfter,
		Why: "offer raw public keys, and only them, in both directions",
		Anchor: `		hello.quicTransportParameters = p
	}
`,
		Text: `
	if config.RawPublicKeys {
		// RFC 7250, Section 4.1: no X.509 fallback, like rustls.
		hello.clientCertificateTypes = []uint8{certificateTypeRawPublicKey}
		hello.serverCertificateTypes = []uint8{certificateTypeRawPublicKey}
	}
`,
	},
	{
		File: "handshake_client.go", Op: Replace,
		Why: "a raw public key client does not resume: it pins the server key in VerifyPeerCertificate, which resumption skips",
		Anchor: `	if c.config.SessionTicketsDisabled || c.config.ClientSessionCache == nil {
		return nil, nil, nil, nil
`,
		Text: `	if c.config.SessionTicketsDisabled || c.config.ClientSessionCache == nil || c.config.RawPublicKeys && !testingRawPublicKeysClientResumption {
		return nil, nil, nil, nil
`,
	},
	{
		File: "handshake_client.go", Op: InsertAfter,
		Why: "raw public key verification replaces X.509 verification on the client",
		Anchor: `func (c *Conn) verifyServerCertificate(certificates [][]byte) error {
`,
		Text: `	if c.config.RawPublicKeys {
		return c.verifyServerRawPublicKey(certificates)
	}
`,
	},

	// ---- handshake_client_tls13.go ----
	{
		File: "handshake_client_tls13.go", Op: InsertAfter,
		Why: "check the server's certificate types in EncryptedExtensions",
		Anchor: `	c.clientProtocol = encryptedExtensions.alpnProtocol
`,
		Text: `
	if err := c.checkServerCertificateTypes(encryptedExtensions); err != nil {
		return err
	}
`,
	},
	{
		File: "handshake_client_tls13.go", Op: InsertBefore,
		Why: "certificate authorities mean nothing for a raw public key",
		Anchor: `	cert, err := c.getClientCertificate(&CertificateRequestInfo{
`,
		Text: `	if c.rawPublicKeys {
		hs.certReq.certificateAuthorities = nil
	}
`,
	},
	{
		File: "handshake_client_tls13.go", Op: InsertBefore,
		Why: "the client key sent must be one Ed25519 SPKI matching the private key",
		Anchor: `	certMsg := new(certificateMsgTLS13)

	certMsg.certificate = *cert
`,
		Text: `	if c.rawPublicKeys && len(cert.Certificate) != 0 {
		if err := checkLocalRawPublicKey(cert); err != nil {
			c.sendAlert(alertInternalError)
			return err
		}
	}

`,
	},
	{
		File: "handshake_client_tls13.go", Op: Replace,
		Why: "no tickets are stored with raw public keys",
		Anchor: `	if c.config.SessionTicketsDisabled || c.config.ClientSessionCache == nil {
		return nil
	}
`,
		Text: `	if c.config.SessionTicketsDisabled || c.config.ClientSessionCache == nil || c.rawPublicKeys && !testingRawPublicKeysClientResumption {
		return nil
	}
`,
	},

	{
		File: "handshake_client_tls13.go", Op: InsertAfter,
		Why: "VerifyConnection once the server proved it holds its raw public key",
		Anchor: `	c.peerSigAlg = certVerify.signatureAlgorithm

	if err := transcriptMsg(certVerify, hs.transcript); err != nil {
		return err
	}
`,
		Text: `
	if err := c.verifyRawPublicKeyConnection(); err != nil {
		return err
	}
`,
	},

	// ---- handshake_server.go ----
	{
		File: "handshake_server.go", Op: InsertAfter,
		Why: "refuse unusable RawPublicKeys configs, after GetConfigForClient picked the config",
		Anchor: `	c.ticketKeys = originalConfig.ticketKeys(configForClient)
`,
		Text: `	if err := c.config.checkRawPublicKeys(roleServer); err != nil {
		c.sendAlert(alertInternalError)
		return nil, nil, err
	}
`,
	},
	{
		File: "handshake_server.go", Op: InsertAfter,
		Why: "raw public key processing replaces X.509 processing on the server",
		Anchor: `func (c *Conn) processCertsFromClient(certificate Certificate) error {
`,
		Text: `	if c.config.RawPublicKeys {
		return c.processClientRawPublicKey(certificate)
	}
`,
	},

	// ---- handshake_server_tls13.go ----
	{
		File: "handshake_server_tls13.go", Op: Replace,
		Why: "negotiate certificate types once the ClientHello (after any HelloRetryRequest) is final",
		Anchor: `	c.serverName = hs.clientHello.serverName
	return nil
}
`,
		Text: `	c.serverName = hs.clientHello.serverName
	return hs.negotiateCertificateTypes()
}
`,
	},
	{
		File: "handshake_server_tls13.go", Op: InsertAfter,
		Why: "the server key sent must be one Ed25519 SPKI matching the private key",
		Anchor: `	hs.cert = certificate
`,
		Text: `	if c.rawPublicKeys {
		if err := checkLocalRawPublicKey(certificate); err != nil {
			c.sendAlert(alertInternalError)
			return err
		}
	}
`,
	},
	{
		File: "handshake_server_tls13.go", Op: Replace,
		Why: "the certificate types must not change across a HelloRetryRequest",
		Anchor: `		!bytes.Equal(ch.pskModes, ch1.pskModes)
`,
		Text: `		!bytes.Equal(ch.pskModes, ch1.pskModes) ||
		!bytes.Equal(ch.clientCertificateTypes, ch1.clientCertificateTypes) ||
		!bytes.Equal(ch.serverCertificateTypes, ch1.serverCertificateTypes)
`,
	},
	{
		File: "handshake_server_tls13.go", Op: InsertBefore,
		Why: "echo both certificate types in EncryptedExtensions (rustls requires both)",
		Anchor: `	if !hs.c.didResume && hs.clientHello.serverName != "" {
`,
		Text: `	if c.rawPublicKeys {
		// RFC 7250, Section 4.2
		encryptedExtensions.clientCertificateType = certificateTypeRawPublicKey
		encryptedExtensions.hasClientCertificateType = true
		encryptedExtensions.serverCertificateType = certificateTypeRawPublicKey
		encryptedExtensions.hasServerCertificateType = true
	}

`,
	},
	{
		File: "handshake_server_tls13.go", Op: Replace,
		Why: "a raw public key server always asks for the client's key",
		Anchor: `	return hs.c.config.ClientAuth >= RequestClientCert && !hs.usingPSK
`,
		Text: `	return (hs.c.config.ClientAuth >= RequestClientCert || hs.c.rawPublicKeys) && !hs.usingPSK
`,
	},
	{
		File: "handshake_server_tls13.go", Op: Replace,
		Why: "no certificate_authorities in a raw public key CertificateRequest",
		Anchor: `		if c.config.ClientCAs != nil {
`,
		Text: `		if c.config.ClientCAs != nil && !c.rawPublicKeys {
`,
	},

	{
		File: "handshake_server_tls13.go", Op: Replace,
		Why: "with raw public keys VerifyConnection waits for the client's CertificateVerify",
		Anchor: `	if err := c.processCertsFromClient(certMsg.certificate); err != nil {
		return err
	}

	if c.config.VerifyConnection != nil {
`,
		Text: `	if err := c.processCertsFromClient(certMsg.certificate); err != nil {
		return err
	}

	if c.config.VerifyConnection != nil && !c.rawPublicKeys {
`,
	},
	{
		File: "handshake_server_tls13.go", Op: InsertAfter,
		Why: "VerifyConnection once the client proved it holds its raw public key",
		Anchor: `		c.peerSigAlg = certVerify.signatureAlgorithm

		if err := transcriptMsg(certVerify, hs.transcript); err != nil {
			return err
		}
	}
`,
		Text: `
	if err := c.verifyRawPublicKeyConnection(); err != nil {
		return err
	}
`,
	},

	{
		File: "handshake_server_tls13.go", Op: Replace,
		Why: "a RawPublicKeys server takes an X25519 key share generated ahead (rawpublickeys_keyshare.go)",
		Anchor: `	hs.sharedKey, hs.hello.serverShare, err = ke.serverSharedSecret(c.config.rand(), clientKeyShare.data)
`,
		Text: `	hs.sharedKey, hs.hello.serverShare, err = c.serverSharedSecret(ke, clientKeyShare.data)
`,
	},

	// ---- ticket.go and resumption: a raw public key server resumes raw public key sessions ----
	{
		File: "ticket.go", Op: InsertAfter,
		Why: "whether a parsed session's peer certificate is a raw public key",
		Anchor: `	alpnProtocol     string // only set if EarlyData is true
`,
		Text: `	rawPublicKeys    bool   // the peer's certificate is a raw public key (set by ParseSessionState)
`,
	},
	{
		File: "ticket.go", Op: Replace,
		Why: "a session's certificate is X.509, or a raw public key's SubjectPublicKeyInfo",
		Anchor: `	for _, cert := range cert.Certificate {
		c, err := globalCertCache.newCert(cert)
		if err != nil {
			return nil, err
		}
`,
		Text: `	for _, cert := range cert.Certificate {
		c, rawPublicKey, err := parseSessionCertificate(cert)
		if err != nil {
			return nil, err
		}
		ss.rawPublicKeys = ss.rawPublicKeys || rawPublicKey
`,
	},
	{
		File: "handshake_server_tls13.go", Op: Replace,
		Why: "raw public key sessions resume only raw public key connections, and have no validity period",
		Anchor: `		if sessionHasClientCerts && c.config.time().After(sessionState.peerCertificates[0].NotAfter) {
`,
		Text: `		if !rawPublicKeySessionMatches(c.rawPublicKeys, sessionState) {
			continue
		}
		if sessionHasClientCerts && !sessionState.rawPublicKeys && c.config.time().After(sessionState.peerCertificates[0].NotAfter) {
`,
	},

	// ---- tls_test.go: Go's own test of Clone knows every bool field ----
	{
		File: "tls_test.go", Op: Replace,
		Why: "TestCloneNonFuncFields sets every field; RawPublicKeys is a bool",
		Anchor: `		case "InsecureSkipVerify", "SessionTicketsDisabled", "DynamicRecordSizingDisabled", "PreferServerCipherSuites":
`,
		Text: `		case "InsecureSkipVerify", "SessionTicketsDisabled", "DynamicRecordSizingDisabled", "PreferServerCipherSuites", "RawPublicKeys":
`,
	},
}
