"""interop-conformance adapter API v1 over PyPI `python-axolotl` 0.2.3 AS SHIPPED.

The library is only called; nothing in it is checked twice or fixed here. The adapter's own judgement is
limited to the mapping of the library's exceptions to the API's classes (`classify`, documented in README.md);
the stores are the in-memory stores the library ships (`axolotl.tests.inmemory*`), with imported keys put in.

Usage: python server.py [--listen 127.0.0.1:8789]   (prints `listening on http://HOST:PORT` when ready)
Environment: ADAPTER_TOKEN, when set, is the bearer token every /v1 request must carry.
"""

import hmac
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version

from google.protobuf.message import DecodeError

from axolotl.duplicatemessagexception import DuplicateMessageException
from axolotl.ecc.curve import Curve
from axolotl.ecc.djbec import DjbECPrivateKey, DjbECPublicKey
from axolotl.ecc.eckeypair import ECKeyPair
from axolotl.identitykey import IdentityKey
from axolotl.identitykeypair import IdentityKeyPair
from axolotl.invalidkeyexception import InvalidKeyException
from axolotl.invalidkeyidexception import InvalidKeyIdException
from axolotl.invalidmessageexception import InvalidMessageException
from axolotl.invalidversionexception import InvalidVersionException
from axolotl.legacymessageexception import LegacyMessageException
from axolotl.nosessionexception import NoSessionException
from axolotl.protocol.ciphertextmessage import CiphertextMessage
from axolotl.protocol.prekeywhispermessage import PreKeyWhisperMessage
from axolotl.protocol.whispermessage import WhisperMessage
from axolotl.sessionbuilder import SessionBuilder
from axolotl.sessioncipher import SessionCipher
from axolotl.state.prekeybundle import PreKeyBundle
from axolotl.state.prekeyrecord import PreKeyRecord
from axolotl.state.signedprekeyrecord import SignedPreKeyRecord
from axolotl.tests.inmemoryaxolotlstore import InMemoryAxolotlStore
from axolotl.untrustedidentityexception import UntrustedIdentityException
from axolotl.util.keyhelper import KeyHelper

LIBRARY_VERSION = version("python-axolotl")
PREKEYS_PER_CLIENT = 4
MAX_BODY = 16 * 1024 * 1024
DEVICE_ID = 1


class ApiError(Exception):
    def __init__(self, status, error, detail):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def rejected(cls, detail):
    return ApiError(422, cls, detail)


def bad_request(detail):
    return ApiError(400, "invalid_argument", detail)


def _message_class(message):
    """The class of an InvalidMessageException by the exact text the library raises (README.md lists where)."""
    if message.startswith("Bad Mac"):
        return "bad_mac"
    if "into the future" in message:
        return "too_far_in_future"
    if message.startswith("Unknown version") or message.startswith("Message version"):
        return "invalid_version"
    if message.startswith("Unknown key type") or message.startswith("Unknown type"):
        return "invalid_key"
    return "invalid_message"


def classify(e):
    """The adapter's only judgement: which API class a library exception is. Anything unknown is `internal`,
    still a 422: the library refused the input by raising, the adapter did not crash."""
    if isinstance(e, ApiError):
        return e
    detail = "%s: %s" % (type(e).__name__, e)
    if isinstance(e, UntrustedIdentityException):
        return rejected("untrusted_identity", detail)
    if isinstance(e, DuplicateMessageException):
        return rejected("duplicate", detail)
    if isinstance(e, NoSessionException):
        return rejected("no_session", detail)
    if isinstance(e, (InvalidVersionException, LegacyMessageException)):
        return rejected("invalid_version", detail)
    if isinstance(e, InvalidKeyIdException):
        if "signedprekey" in str(e):
            return rejected("invalid_signed_prekey", detail)
        return rejected("invalid_prekey", detail)
    if isinstance(e, InvalidKeyException):
        if "signature" in str(e):
            return rejected("bad_signature", detail)
        return rejected("invalid_key", detail)
    if isinstance(e, InvalidMessageException):
        inner = e.args[0] if e.args else ""
        if isinstance(inner, Exception):  # a wrapped key or decode error (whispermessage.py:50)
            return rejected(classify(inner).error, detail)
        # "No valid sessions" (sessioncipher.py:123): the library appends the first per-session cause's text
        # (invalidmessageexception.py), which names the class.
        return rejected(_message_class(str(inner).replace("No valid sessions", "", 1)), detail)
    if isinstance(e, DecodeError):
        return rejected("invalid_message", detail)
    if isinstance(e, ValueError) and "padding" in str(e).lower():
        return rejected("invalid_message", detail)  # cryptography's PKCS7 unpadder
    return rejected("internal", detail)


def field(body, name, kind, optional=False):
    if not isinstance(body, dict):
        raise bad_request("expected an object around `%s`" % name)
    v = body.get(name)
    if v is None:
        if optional:
            return None
        raise bad_request("missing field `%s`" % name)
    if kind == "string":
        if not isinstance(v, str):
            raise bad_request("at `%s`: expected a string" % name)
        return v
    if kind == "hex":
        if not isinstance(v, str) or len(v) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", v):
            raise bad_request("at `%s`: invalid hex string" % name)
        return bytes.fromhex(v)
    if kind in ("u32", "u64"):
        top = 0xFFFFFFFF if kind == "u32" else 0xFFFFFFFFFFFFFFFF
        if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > top:
            raise bad_request("at `%s`: expected a %s" % (name, kind))
        return v
    if kind == "object":
        if not isinstance(v, dict):
            raise bad_request("at `%s`: expected an object" % name)
        return v
    if kind == "array":
        if not isinstance(v, list):
            raise bad_request("at `%s`: expected an array" % name)
        return v
    raise AssertionError(kind)


def key_pair(private, name):
    if len(private) != 32:
        raise rejected("invalid_argument", "%s: %d bytes, expected 32" % (name, len(private)))
    return ECKeyPair(DjbECPublicKey(Curve.generatePublicKey(private)), DjbECPrivateKey(private))


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.clients = {}
        self.counter = 0


STATE = State()


def create_client(body):
    name = field(body, "name", "string")
    field(body, "seed", "u64", optional=True)
    keys = field(body, "keys", "object", optional=True)
    store = InMemoryAxolotlStore()
    if keys is not None:
        identity = key_pair(field(keys, "identity_private", "hex"), "identity_private")
        store.identityKeyStore.identityKeyPair = IdentityKeyPair(
            IdentityKey(identity.getPublicKey()), identity.getPrivateKey())
        store.identityKeyStore.localRegistrationId = field(keys, "registration_id", "u32")
        signed_id = field(keys, "signed_prekey_id", "u32")
        signed = key_pair(field(keys, "signed_prekey_private", "hex"), "signed_prekey_private")
        store.storeSignedPreKey(signed_id, SignedPreKeyRecord(
            signed_id, 0, signed, field(keys, "signed_prekey_signature", "hex")))
        for i, p in enumerate(field(keys, "prekeys", "array", optional=True) or []):
            if not isinstance(p, dict):
                raise bad_request("at `keys.prekeys[%d]`: expected an object" % i)
            pid = field(p, "id", "u32")
            store.storePreKey(pid, PreKeyRecord(pid, key_pair(field(p, "private", "hex"), "prekeys[].private")))
    else:
        signed = KeyHelper.generateSignedPreKey(store.getIdentityKeyPair(), 1)
        store.storeSignedPreKey(1, signed)
        for record in KeyHelper.generatePreKeys(1, PREKEYS_PER_CLIENT):
            store.storePreKey(record.getId(), record)
    STATE.counter += 1
    cid = "%s-%d" % (name, STATE.counter)
    STATE.clients[cid] = store
    return {"client": cid}


def client(body):
    cid = field(body, "client", "string")
    store = STATE.clients.get(cid)
    if store is None:
        raise rejected("invalid_argument", "unknown client %s" % cid)
    return store


def prekey_bundle(body):
    store = client(body)
    signed = store.loadSignedPreKeys()[0]
    out = {
        "registration_id": store.getLocalRegistrationId(),
        "identity_key": store.getIdentityKeyPair().getPublicKey().serialize().hex(),
        "signed_prekey_id": signed.getId(),
        "signed_prekey": signed.getKeyPair().getPublicKey().serialize().hex(),
        "signed_prekey_signature": bytes(signed.getSignature()).hex(),
    }
    # As a prekey server does: each one-time prekey is handed out once (it stays usable until a pkmsg consumes
    # it). python-axolotl has no code for this; it is the adapter's stand-in.
    handed_out = store.__dict__.setdefault("handed_out", set())
    ids = sorted(i for i in store.preKeyStore.store.keys() if i not in handed_out)
    if ids:
        handed_out.add(ids[0])
        out["prekey_id"] = ids[0]
        out["prekey"] = store.loadPreKey(ids[0]).getKeyPair().getPublicKey().serialize().hex()
    return out


def cipher(store, peer):
    return SessionCipher(store, store, store, store, peer, DEVICE_ID)


def process_bundle(body):
    store = client(body)
    peer = field(body, "peer", "string")
    b = field(body, "bundle", "object")
    prekey_id = field(b, "prekey_id", "u32", optional=True)
    prekey = field(b, "prekey", "hex", optional=True)
    if (prekey_id is None) != (prekey is None):
        raise bad_request("prekey_id and prekey must come together")
    bundle = PreKeyBundle(
        field(b, "registration_id", "u32"), DEVICE_ID, prekey_id,
        Curve.decodePoint(bytearray(prekey), 0) if prekey is not None else None,
        field(b, "signed_prekey_id", "u32"),
        Curve.decodePoint(bytearray(field(b, "signed_prekey", "hex")), 0),
        field(b, "signed_prekey_signature", "hex"),
        IdentityKey(Curve.decodePoint(bytearray(field(b, "identity_key", "hex")), 0)))
    SessionBuilder(store, store, store, store, peer, DEVICE_ID).processPreKeyBundle(bundle)
    return {}


def encrypt(body):
    store = client(body)
    peer = field(body, "peer", "string")
    message = cipher(store, peer).encrypt(field(body, "plaintext", "hex"))
    kind = "pkmsg" if message.getType() == CiphertextMessage.PREKEY_TYPE else "msg"
    return {"kind": kind, "body": bytes(message.serialize()).hex()}


def decrypt(body):
    store = client(body)
    peer = field(body, "peer", "string")
    ct = field(body, "ciphertext", "object")
    kind = field(ct, "kind", "string")
    data = field(ct, "body", "hex")
    if kind == "pkmsg":
        plaintext = cipher(store, peer).decryptPkmsg(PreKeyWhisperMessage(serialized=data))
    elif kind == "msg":
        plaintext = cipher(store, peer).decryptMsg(WhisperMessage(serialized=data))
    else:
        raise bad_request("at `ciphertext.kind`: expected `pkmsg` or `msg`")
    return {"plaintext": bytes(plaintext).hex()}


def verify_signature(body):
    public_key = field(body, "public_key", "hex")
    message = field(body, "message", "hex")
    signature = field(body, "signature", "hex")
    key = Curve.decodePoint(bytearray(public_key), 0)
    return {"valid": bool(Curve.verifySignature(key, message, signature))}


def capabilities(_body):
    return {
        "implementation": "python-axolotl %s (PyPI, as shipped)" % LIBRARY_VERSION,
        "api_version": "v1",
        "profiles": ["whatsapp-ro-2024"],
        "operations": ["import_keys", "verify_signature"],
    }


def reset(_body):
    STATE.clients = {}
    return {}


ROUTES = {
    ("GET", "/v1/capabilities"): capabilities,
    ("POST", "/v1/reset"): reset,
    ("POST", "/v1/clients"): create_client,
    ("POST", "/v1/prekey-bundle"): prekey_bundle,
    ("POST", "/v1/process-bundle"): process_bundle,
    ("POST", "/v1/encrypt"): encrypt,
    ("POST", "/v1/decrypt"): decrypt,
    ("POST", "/v1/verify-signature"): verify_signature,
}


def unsupported(path):
    def answer(_body):
        raise ApiError(501, "unsupported", "%s is not served by python-axolotl" % path)
    return answer


# Optional operations python-axolotl has no code for (no media, no fingerprint, no JOSE): 501.
for _path in ("/v1/media/encrypt", "/v1/media/decrypt", "/v1/security-code", "/v1/enlistment-request",
              "/v1/push-endpoint"):
    ROUTES[("POST", _path)] = unsupported(_path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: headers and body leave in two writes; with Nagle's algorithm on, the second one waits for
    # the client's delayed ACK and every call takes ~40 ms.
    disable_nagle_algorithm = True
    token = None

    def log_message(self, *_args):
        pass

    def send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self.send(413, {"error": "invalid_argument", "detail": "body too large"})
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        route = ROUTES.get((method, path))
        if route is None:
            return self.send(404, {"error": "invalid_argument",
                                   "detail": "no endpoint %s %s in adapter API v1" % (method, path)})
        if Handler.token is not None:
            want = ("Bearer " + Handler.token).encode()
            got = (self.headers.get("authorization") or "").encode()
            if not hmac.compare_digest(got, want):
                return self.send(401, {"error": "invalid_argument", "detail": "bearer token missing or wrong"})
        body = {}
        if method == "POST":
            try:
                body = json.loads(raw.decode("utf-8") or "null")
            except ValueError as e:
                return self.send(400, {"error": "invalid_argument", "detail": "request body is not JSON: %s" % e})
            if not isinstance(body, dict):
                return self.send(400, {"error": "invalid_argument", "detail": "request body must be a JSON object"})
        try:
            with STATE.lock:
                result = route(body)
            return self.send(200, result)
        except Exception as e:  # every library exception is classified; see classify()
            err = classify(e)
            return self.send(err.status, {"error": err.error, "detail": err.detail})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


def main(argv):
    import os
    listen = "127.0.0.1:8789"
    args = argv[1:]
    while args:
        if args[0] == "--listen" and len(args) > 1:
            listen = args[1]
            args = args[2:]
        else:
            print("usage: python server.py [--listen HOST:PORT]", file=sys.stderr)
            return 2
    host, _, port = listen.rpartition(":")
    Handler.token = os.environ.get("ADAPTER_TOKEN") or None
    try:
        server = ThreadingHTTPServer((host, int(port)), Handler)
    except (OSError, ValueError) as e:
        print("cannot listen on %s: %s" % (listen, e), file=sys.stderr)
        return 2
    server.daemon_threads = True
    print("listening on http://%s:%d" % server.server_address[:2], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
