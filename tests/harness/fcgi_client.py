"""A minimal FastCGI client, to talk to webhookd's socket without nginx: lets
a test hold a request half-sent (in flight) or reuse one connection for
several requests (FCGI_KEEP_CONN), which nginx cannot be made to do on cue."""
import socket
import struct

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
RESPONDER, KEEP_CONN = 1, 1


def _record(kind, request_id, content=b""):
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), 0) + content


def _stdin(request_id, body):
    """The body as FCGI_STDIN records (a record holds at most 65,535 bytes) and the empty one that ends it."""
    chunks = [body[i:i + 32768] for i in range(0, len(body), 32768)]
    return b"".join(_record(STDIN, request_id, c) for c in chunks) + _record(STDIN, request_id)


def _length(n):
    return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params):
    out = b""
    for name, value in params.items():
        name, value = name.encode(), value.encode()
        out += _length(len(name)) + _length(len(value)) + name + value
    return out


class Connection:
    def __init__(self, socket_path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(socket_path)

    def close(self):
        self.sock.close()

    def send_head(self, params, request_id=1, keep=False, body_length=0):
        """BEGIN_REQUEST and all PARAMS; the body (STDIN) is left to send_body."""
        params = dict(params)
        params.setdefault("CONTENT_LENGTH", str(body_length))
        data = _record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep else 0))
        data += _record(PARAMS, request_id, encode_params(params)) + _record(PARAMS, request_id)
        self.sock.sendall(data)

    def send_body(self, body, request_id=1):
        self.sock.sendall(_stdin(request_id, body))

    def read_response(self, request_id=1):
        """STDOUT bytes of one request, up to its END_REQUEST."""
        out = b""
        while True:
            header = self._read_exactly(8)
            _, kind, rid, length, padding = struct.unpack(">BBHHBx", header)
            content = self._read_exactly(length + padding)[:length]
            if kind == STDOUT and rid == request_id:
                out += content
            elif kind == END_REQUEST and rid == request_id:
                return out

    def _read_exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("connection closed after %d of %d bytes" % (len(data), n))
            data += chunk
        return data

    def request_bytes(self, params, body=b"", request_id=1, keep=False):
        """The whole request as nginx would write it, to send in pieces."""
        params = dict(params)
        params.setdefault("CONTENT_LENGTH", str(len(body)))
        data = _record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep else 0))
        data += _record(PARAMS, request_id, encode_params(params)) + _record(PARAMS, request_id)
        return data + _stdin(request_id, body)

    def send_abort(self, request_id=1):
        self.sock.sendall(_record(ABORT_REQUEST, request_id))

    def get_values(self, names):
        """FCGI_GET_VALUES for names (a name may repeat); returns {name: value} from the result."""
        self.sock.sendall(get_values_record(names))
        header = self._read_exactly(8)
        _, kind, rid, length, padding = struct.unpack(">BBHHBx", header)
        content = self._read_exactly(length + padding)[:length]
        assert (kind, rid) == (GET_VALUES_RESULT, 0), (kind, rid)
        return parse_values(content)

    def read_record(self):
        """(type, request id, content) of the next record."""
        _, kind, rid, length, padding = struct.unpack(">BBHHBx", self._read_exactly(8))
        return kind, rid, self._read_exactly(length + padding)[:length]

    def request(self, params, body=b"", request_id=1, keep=False):
        self.send_head(params, request_id, keep, len(body))
        self.send_body(body, request_id)
        return self.read_response(request_id)


def parse(raw):
    """(status, {lower-name: value}, body) of a CGI-style response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(headers.get("status", "200").split()[0]), headers, body


def get_values_record(names):
    """An FCGI_GET_VALUES record asking for names, repeats kept."""
    return _record(GET_VALUES, 0, b"".join(_length(len(n)) + _length(0) + n.encode() for n in names))


def parse_values(content):
    """{name: value} of a GET_VALUES_RESULT's content; a repeated name raises."""
    values, pos = {}, 0
    while pos < len(content):
        n, v = content[pos], content[pos + 1]  # short lengths: webhookd's names and values are short
        name = content[pos + 2:pos + 2 + n].decode()
        assert name not in values, "%s answered twice" % name
        values[name] = content[pos + 2 + n:pos + 2 + n + v].decode()
        pos += 2 + n + v
    return values
