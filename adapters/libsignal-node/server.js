'use strict';
// interop-conformance adapter API v1 over npm `libsignal` 6.0.0 (WhiskeySockets/libsignal-node) AS SHIPPED.
// The library is only called; nothing in it is checked twice or fixed here. The adapter's own judgement is
// limited to (1) the mapping of the library's errors to the API's classes (`classify`, documented in
// README.md) and (2) the glue the library leaves to its caller: the key store (identity trust as Baileys
// does it: every identity trusted), the HTTP shapes, and the signature-process server (enlistment tokens and
// push verification with `jose`, which libsignal has no notion of).
//
// Usage: node server.js [--listen 127.0.0.1:8788]   (prints `listening on http://HOST:PORT` when ready)
// Environment: ADAPTER_TOKEN, when set, is the bearer token every /v1 request must carry.

const http = require('node:http');
const nodeCrypto = require('node:crypto');
const libsignal = require('libsignal');
const jose = require('jose');

const LIBRARY_VERSION = require('libsignal/package.json').version;
const JOSE_VERSION = require('jose/package.json').version;
const PARTNER_JWKS_PATH = '/.well-known/oauth/openid/jwks';
const TOKEN_LIFETIME = 3600;
const PUSH_ISSUER = 'WHATSAPP';
const PUSH_LEEWAY = 60;
const PREKEYS_PER_CLIENT = 4;
const MAX_BODY = 16 * 1024 * 1024;

// ---------------------------------------------------------------- errors

class ApiError extends Error {
    constructor(status, error, detail) {
        super(detail);
        this.status = status;
        this.error = error;
    }
}

const rejected = (cls, detail) => new ApiError(422, cls, detail);
const badRequest = (detail) => new ApiError(400, 'invalid_argument', detail);

// The adapter's only judgement: which API class a library exception is. Matched on the exception's class
// and the exact message the library throws (file and line in README.md). Anything else is `internal`,
// still a 422: the library refused the input by throwing, it did not crash the adapter.
function classify(e) {
    if (e instanceof ApiError) return e;
    const name = e && e.constructor ? e.constructor.name : 'Error';
    const msg = e && e.message !== undefined ? String(e.message) : String(e);
    const detail = `${name}: ${msg}`;
    if (e instanceof libsignal.UntrustedIdentityKeyError) return rejected('untrusted_identity', detail);
    if (e instanceof libsignal.MessageCounterError) return rejected('duplicate', detail);
    if (e instanceof libsignal.PreKeyError) {
        return rejected(msg.includes('SignedPreKey') ? 'invalid_signed_prekey' : 'invalid_prekey', detail);
    }
    if (e instanceof libsignal.SessionError) {
        if (msg.includes('into the future')) return rejected('too_far_in_future', detail);
        if (/^No (sessions|open session|session record|sessions available)$/.test(msg)) {
            return rejected('no_session', detail);
        }
        // "No matching sessions found for message": decryptWithSessions swallows the per-session cause
        // (bad MAC, old counter, bad version...) and throws this one error for all of them.
        return rejected('invalid_message', detail);
    }
    if (msg === 'Bad MAC' || msg === 'Bad MAC length') return rejected('bad_mac', detail);
    if (msg.startsWith('Incompatible version number')) return rejected('invalid_version', detail);
    if (msg === 'Invalid public key' || msg.startsWith('Invalid public key type')) {
        return rejected('invalid_key', detail);
    }
    if (msg === 'Invalid signature') return rejected('bad_signature', detail);
    if (e instanceof RangeError || /wire type|index out of range|invalid (utf8|encoding)/i.test(msg)) {
        return rejected('invalid_message', detail); // protobufjs decode errors
    }
    if (/bad decrypt|wrong final block length|Invalid (key|IV|initialization vector) length/i.test(msg)) {
        return rejected('invalid_message', detail); // node:crypto AES-CBC errors (padding, lengths)
    }
    return rejected('internal', detail);
}

// ---------------------------------------------------------------- request fields

function field(body, name, kind, optional) {
    const v = body[name];
    if (v === undefined || v === null) {
        if (optional) return undefined;
        throw badRequest(`missing field \`${name}\``);
    }
    switch (kind) {
    case 'string':
        if (typeof v !== 'string') throw badRequest(`at \`${name}\`: expected a string`);
        return v;
    case 'hex':
        if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(v)) {
            throw badRequest(`at \`${name}\`: invalid hex string`);
        }
        return Buffer.from(v, 'hex');
    case 'u32':
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw badRequest(`at \`${name}\`: expected a u32`);
        return v;
    case 'u64':
        // JSON numbers above 2^53 lose precision in JavaScript; the seed is only accepted, never used.
        if (typeof v !== 'number' || v < 0 || !Number.isFinite(v)) throw badRequest(`at \`${name}\`: expected a u64`);
        return v;
    case 'object':
        if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`at \`${name}\`: expected an object`);
        return v;
    case 'array':
        if (!Array.isArray(v)) throw badRequest(`at \`${name}\`: expected an array`);
        return v;
    default:
        throw new Error(`unknown kind ${kind}`);
    }
}

const hex = (buf) => Buffer.from(buf).toString('hex');

// ---------------------------------------------------------------- clients

let clients = new Map();
let clientCounter = 0;

// The storage interface libsignal's SessionBuilder / SessionCipher call (src/session_builder.js,
// src/session_cipher.js). libsignal ships no store; this one keeps everything in memory.
class MemoryStore {
    constructor(identity, registrationId, signedPreKey, preKeys) {
        this.identity = identity;
        this.registrationId = registrationId;
        this.signedPreKey = signedPreKey; // {keyId, keyPair, signature}
        this.preKeys = preKeys; // Map id -> keyPair
        this.handedOut = new Set(); // one-time prekey ids a bundle already offered
        this.sessions = new Map();
    }
    async getOurIdentity() { return this.identity; }
    async getOurRegistrationId() { return this.registrationId; }
    // Baileys (the library's main user) trusts every identity; libsignal never calls a saveIdentity.
    async isTrustedIdentity() { return true; }
    // Records are kept serialized, as a persistent store (Baileys') keeps them: what a failed decrypt changed in
    // the loaded record is not kept unless the library stored it.
    async loadSession(addr) {
        const data = this.sessions.get(addr);
        return data === undefined ? undefined : libsignal.SessionRecord.deserialize(data);
    }
    async storeSession(addr, record) { this.sessions.set(addr, record.serialize()); }
    async loadPreKey(id) { return this.preKeys.get(id); }
    async removePreKey(id) { this.preKeys.delete(id); }
    async loadSignedPreKey(id) {
        return id === this.signedPreKey.keyId ? this.signedPreKey.keyPair : undefined;
    }
}

// The X25519 public key of a 32-byte private key, 0x05-prefixed, through the library's own helper.
function keyPairFromPrivate(priv, name) {
    if (priv.length !== 32) throw rejected('invalid_argument', `${name}: ${priv.length} bytes, expected 32`);
    return { privKey: priv, pubKey: libsignal.curve.getPublicFromPrivateKey(priv) };
}

function createClient(body) {
    const name = field(body, 'name', 'string');
    field(body, 'seed', 'u64', true);
    const keys = field(body, 'keys', 'object', true);
    let store;
    if (keys) {
        const identity = keyPairFromPrivate(field(keys, 'identity_private', 'hex'), 'identity_private');
        const signedId = field(keys, 'signed_prekey_id', 'u32');
        const signed = {
            keyId: signedId,
            keyPair: keyPairFromPrivate(field(keys, 'signed_prekey_private', 'hex'), 'signed_prekey_private'),
            signature: field(keys, 'signed_prekey_signature', 'hex'),
        };
        const preKeys = new Map();
        for (const [i, p] of (field(keys, 'prekeys', 'array', true) || []).entries()) {
            if (typeof p !== 'object' || p === null) throw badRequest(`at \`keys.prekeys[${i}]\`: expected an object`);
            preKeys.set(field(p, 'id', 'u32'), keyPairFromPrivate(field(p, 'private', 'hex'), 'prekeys[].private'));
        }
        store = new MemoryStore(identity, field(keys, 'registration_id', 'u32'), signed, preKeys);
    } else {
        const identity = libsignal.keyhelper.generateIdentityKeyPair();
        const preKeys = new Map();
        for (let id = 1; id <= PREKEYS_PER_CLIENT; id++) {
            preKeys.set(id, libsignal.keyhelper.generatePreKey(id).keyPair);
        }
        store = new MemoryStore(identity, libsignal.keyhelper.generateRegistrationId(),
            libsignal.keyhelper.generateSignedPreKey(identity, 1), preKeys);
    }
    clientCounter += 1;
    const id = `${name}-${clientCounter}`;
    clients.set(id, { name, store, noiseStatic: null });
    return { client: id };
}

function client(body) {
    const id = field(body, 'client', 'string');
    const c = clients.get(id);
    if (!c) throw rejected('invalid_argument', `unknown client ${id}`);
    return c;
}

const address = (peer) => new libsignal.ProtocolAddress(peer, 1);

function prekeyBundle(body) {
    const { store } = client(body);
    const out = {
        registration_id: store.registrationId,
        identity_key: hex(store.identity.pubKey),
        signed_prekey_id: store.signedPreKey.keyId,
        signed_prekey: hex(store.signedPreKey.keyPair.pubKey),
        signed_prekey_signature: hex(store.signedPreKey.signature),
    };
    // As the server a Baileys client uploads its prekeys to: each one-time prekey is handed out once (it stays
    // usable until a pkmsg consumes it). libsignal has no code for this; it is the adapter's stand-in.
    const ids = [...store.preKeys.keys()].filter((id) => !store.handedOut.has(id)).sort((a, b) => a - b);
    if (ids.length > 0) {
        store.handedOut.add(ids[0]);
        out.prekey_id = ids[0];
        out.prekey = hex(store.preKeys.get(ids[0]).pubKey);
    }
    return out;
}

async function processBundle(body) {
    const c = client(body);
    const peer = field(body, 'peer', 'string');
    const b = field(body, 'bundle', 'object');
    const device = {
        registrationId: field(b, 'registration_id', 'u32'),
        identityKey: field(b, 'identity_key', 'hex'),
        signedPreKey: {
            keyId: field(b, 'signed_prekey_id', 'u32'),
            publicKey: field(b, 'signed_prekey', 'hex'),
            signature: field(b, 'signed_prekey_signature', 'hex'),
        },
    };
    const preKeyId = field(b, 'prekey_id', 'u32', true);
    const preKey = field(b, 'prekey', 'hex', true);
    if ((preKeyId === undefined) !== (preKey === undefined)) {
        throw badRequest('prekey_id and prekey must come together');
    }
    if (preKey !== undefined) device.preKey = { keyId: preKeyId, publicKey: preKey };
    await new libsignal.SessionBuilder(c.store, address(peer)).initOutgoing(device);
    return {};
}

async function encrypt(body) {
    const c = client(body);
    const peer = field(body, 'peer', 'string');
    const plaintext = field(body, 'plaintext', 'hex');
    const out = await new libsignal.SessionCipher(c.store, address(peer)).encrypt(plaintext);
    return { kind: out.type === 3 ? 'pkmsg' : 'msg', body: hex(out.body) };
}

async function decrypt(body) {
    const c = client(body);
    const peer = field(body, 'peer', 'string');
    const ct = field(body, 'ciphertext', 'object');
    const kind = field(ct, 'kind', 'string');
    const data = field(ct, 'body', 'hex');
    const cipher = new libsignal.SessionCipher(c.store, address(peer));
    let plaintext;
    if (kind === 'pkmsg') plaintext = await cipher.decryptPreKeyWhisperMessage(data);
    else if (kind === 'msg') plaintext = await cipher.decryptWhisperMessage(data);
    else throw badRequest('at `ciphertext.kind`: expected `pkmsg` or `msg`');
    return { plaintext: hex(plaintext) };
}

function verifySignature(body) {
    const publicKey = field(body, 'public_key', 'hex');
    const message = field(body, 'message', 'hex');
    const signature = field(body, 'signature', 'hex');
    return { valid: Boolean(libsignal.curve.verifySignature(publicKey, message, signature)) };
}

// ---------------------------------------------------------------- signature process (jose)

let issuer = null; // Promise of { privateKey, jwk, kid }
let baseUrl = '';
let pushJwks = null; // { url, set }
const wakeups = [];

// Made once: concurrent first calls share the one promise (two keys would leave tokens signed by a key the
// JWKS no longer lists).
function issuerKey() {
    if (!issuer) {
        issuer = (async () => {
            const { publicKey, privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
            const jwk = await jose.exportJWK(publicKey);
            const kid = await jose.calculateJwkThumbprint(jwk);
            return { privateKey, jwk: { ...jwk, kid, alg: 'RS256', use: 'sig' }, kid };
        })();
    }
    return issuer;
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');

async function enlistmentRequest(body) {
    const c = client(body);
    const identifier = field(body, 'identifier', 'string');
    if (!c.noiseStatic) c.noiseStatic = libsignal.curve.generateKeyPair();
    const s = c.store;
    const id = s.signedPreKey.keyId;
    if (id > 0xffffff) throw rejected('internal', `signed prekey id ${id} does not fit the 3-byte e_skey_id`);
    const regid = Buffer.alloc(4);
    regid.writeUInt32BE(s.registrationId);
    const skeyId = Buffer.from([(id >> 16) & 0xff, (id >> 8) & 0xff, id & 0xff]);
    const key = await issuerKey();
    const now = Math.floor(Date.now() / 1000);
    const token = await new jose.SignJWT({ sub: identifier })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid })
        .setIssuer(baseUrl).setIssuedAt(now).setExpirationTime(now + TOKEN_LIFETIME)
        .sign(key.privateKey);
    return {
        form: {
            authkey: b64u(c.noiseStatic.pubKey.subarray(1)),
            e_ident: b64u(s.identity.pubKey.subarray(1)),
            e_keytype: b64u(Buffer.from([5])),
            e_regid: b64u(regid),
            e_skey_id: b64u(skeyId),
            e_skey_sig: b64u(s.signedPreKey.signature),
            e_skey_val: b64u(s.signedPreKey.keyPair.pubKey.subarray(1)),
            token,
        },
        jwks_url: baseUrl + PARTNER_JWKS_PATH,
    };
}

function pushEndpoint(body) {
    const url = field(body, 'jwks_url', 'string');
    let parsed;
    try { parsed = new URL(url); } catch (e) { throw badRequest('at `jwks_url`: not a URL'); }
    pushJwks = { url, set: jose.createRemoteJWKSet(parsed, { timeoutDuration: 5000 }) };
    return { url: baseUrl + '/push', audience: baseUrl };
}

// POST /push: 200 for a token jose verifies (WhatsApp's JWKS, iss WHATSAPP, aud this server, exp) and a body
// naming `to`; 401 for a token jose refuses; 400 for a bad body; 503 before /v1/push-endpoint.
async function push(req, raw) {
    if (!pushJwks) return [503, { error: 'internal', detail: 'no JWKS configured' }];
    const auth = req.headers.authorization || '';
    if (!auth.startsWith('Bearer ')) return [401, { error: 'unauthorized' }];
    try {
        await jose.jwtVerify(auth.slice(7), pushJwks.set, {
            issuer: PUSH_ISSUER,
            audience: baseUrl,
            clockTolerance: PUSH_LEEWAY,
            requiredClaims: ['exp'],
        });
    } catch (e) {
        return [401, { error: 'unauthorized', detail: `${e.code || e.name}` }];
    }
    let to;
    try { to = JSON.parse(raw.toString('utf8')).to; } catch (e) { to = undefined; }
    if (typeof to !== 'string') return [400, { error: 'invalid_argument', detail: 'body must be {"to": "..."}' }];
    wakeups.push(to);
    return [200, {}];
}

// ---------------------------------------------------------------- routing

const OPERATIONS = ['import_keys', 'verify_signature', 'enlistment', 'push'];

const routes = {
    'GET /v1/capabilities': () => ({
        implementation: `libsignal-node ${LIBRARY_VERSION} (npm libsignal, as shipped) + jose ${JOSE_VERSION}`,
        api_version: 'v1',
        profiles: ['whatsapp-ro-2024'],
        operations: OPERATIONS,
    }),
    'POST /v1/reset': () => {
        clients = new Map();
        pushJwks = null;
        return {};
    },
    'POST /v1/clients': createClient,
    'POST /v1/prekey-bundle': prekeyBundle,
    'POST /v1/process-bundle': processBundle,
    'POST /v1/encrypt': encrypt,
    'POST /v1/decrypt': decrypt,
    'POST /v1/verify-signature': verifySignature,
    'POST /v1/enlistment-request': enlistmentRequest,
    'POST /v1/push-endpoint': pushEndpoint,
};

// Optional operations the library has no code for: 501, never called by the suite since not advertised.
// security_code: src/numeric_fingerprint.js is not exported by index.js, and its createFor throws on Node 20
// (Buffer.concat of ArrayBuffers); media: libsignal has no media code (Baileys has its own).
for (const path of ['/v1/media/encrypt', '/v1/media/decrypt', '/v1/security-code']) {
    routes[`POST ${path}`] = () => { throw new ApiError(501, 'unsupported', `${path} is not served by libsignal-node`); };
}

function send(res, status, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
}

function authorized(req) {
    const token = process.env.ADAPTER_TOKEN;
    if (!token) return true;
    const got = Buffer.from(req.headers.authorization || '');
    const want = Buffer.from(`Bearer ${token}`);
    return got.length === want.length && nodeCrypto.timingSafeEqual(got, want);
}

async function handle(req, res) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
        size += chunk.length;
        if (size > MAX_BODY) return send(res, 413, { error: 'invalid_argument', detail: 'body too large' });
        chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks);
    const path = (req.url || '').split('?')[0];
    if (path === PARTNER_JWKS_PATH && req.method === 'GET') {
        const key = await issuerKey();
        return send(res, 200, { keys: [key.jwk] });
    }
    if (path === '/push' && req.method === 'POST') {
        const [status, body] = await push(req, raw);
        return send(res, status, body);
    }
    const route = routes[`${req.method} ${path}`];
    if (!route) {
        return send(res, 404, { error: 'invalid_argument', detail: `no endpoint ${req.method} ${path} in adapter API v1` });
    }
    if (!authorized(req)) return send(res, 401, { error: 'invalid_argument', detail: 'bearer token missing or wrong' });
    let body = {};
    if (req.method === 'POST') {
        try {
            body = JSON.parse(raw.toString('utf8') || 'null');
        } catch (e) {
            return send(res, 400, { error: 'invalid_argument', detail: `request body is not JSON: ${e.message}` });
        }
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
            return send(res, 400, { error: 'invalid_argument', detail: 'request body must be a JSON object' });
        }
    }
    try {
        return send(res, 200, await route(body));
    } catch (e) {
        const err = classify(e);
        return send(res, err.status, { error: err.error, detail: err.message });
    }
}

function main() {
    const args = process.argv.slice(2);
    let listen = '127.0.0.1:8788';
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '--listen' && i + 1 < args.length) listen = args[++i];
        else {
            console.error(`usage: node server.js [--listen HOST:PORT]`);
            process.exit(2);
        }
    }
    const colon = listen.lastIndexOf(':');
    const host = listen.slice(0, colon);
    const port = Number(listen.slice(colon + 1));
    // noDelay: answers leave at once instead of waiting for the client's delayed ACK (Nagle, ~40 ms a call).
    const server = http.createServer({ noDelay: true, keepAliveTimeout: 30000 }, (req, res) => {
        handle(req, res).catch((e) => {
            if (!res.headersSent) send(res, 500, { error: 'internal', detail: String(e && e.message) });
        });
    });
    server.on('error', (e) => {
        console.error(`cannot listen on ${listen}: ${e.message}`);
        process.exit(2);
    });
    server.listen(port, host, () => {
        const a = server.address();
        baseUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
        console.log(`listening on ${baseUrl}`);
    });
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

main();
