"""proxy/fronts/icap.py: ICAP as RFC 3507 writes it (its examples, §4.8.3, §4.9.3, §4.10.2, and a preview
as §4.5 describes it), and as Squid sends it."""

from __future__ import annotations

import pytest

from sentinelle.proxy.fronts.icap import (
    CONTINUE,
    LAST_CHUNK,
    IcapError,
    chunk,
    chunked_body,
    echo_head,
    no_content,
    options,
    parse_chunk_line,
    parse_encapsulated,
    parse_http_head,
    parse_request,
    request_url,
    url_host,
)


def crlf(text: str) -> bytes:
    """An RFC example as printed (one line a line) → the bytes on the wire (CRLF line ends)."""
    return text.replace("\n", "\r\n").encode()


def split(message: bytes) -> tuple[bytes, bytes]:
    head, _, rest = message.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


# RFC 3507 §4.9.3, RESPMOD request: the offsets are the RFC's own.
RESPMOD = crlf("""RESPMOD icap://icap.example.org/satisf ICAP/1.0
Host: icap.example.org
Encapsulated: req-hdr=0, res-hdr=137, res-body=296

GET /origin-resource HTTP/1.1
Host: www.origin-server.com
Accept: text/html, text/plain, image/gif
Accept-Encoding: gzip, compress

HTTP/1.1 200 OK
Date: Mon, 10 Jan 2000 09:52:22 GMT
Server: Apache/1.3.6 (Unix)
ETag: "63840-1ab7-378d415b"
Content-Type: text/html
Content-Length: 51

33
This is data that was returned by an origin server.
0

""")


def test_the_rfc_respmod_example_parses_at_its_offsets():
    head, rest = split(RESPMOD)
    request = parse_request(head)
    assert (request.method, request.uri) == ("RESPMOD", "icap://icap.example.org/satisf")
    assert request.encapsulated == (("req-hdr", 0), ("res-hdr", 137), ("res-body", 296))
    assert request.has_body and request.preview is None and not request.allows_204
    sections = request.sections(rest[:request.heads_size])
    http_request, http_response = parse_http_head(sections["req-hdr"]), parse_http_head(sections["res-hdr"])
    assert http_request.start == ("GET", "/origin-resource", "HTTP/1.1")
    assert request_url(http_request) == "http://www.origin-server.com/origin-resource"
    assert http_response.status == 200 and http_response.header("content-type") == "text/html"
    assert http_response.header("ETAG") == '"63840-1ab7-378d415b"'
    body, ieof, used = chunked_body(rest[request.heads_size:])
    assert body == b"This is data that was returned by an origin server." and len(body) == 0x33
    assert not ieof and used == len(rest) - request.heads_size


def test_the_rfc_reqmod_example_with_a_body_parses():
    # After RFC 3507 §4.8.3 (a POST form through REQMOD); its offset counted from its lines.
    http = crlf("""POST /origin-resource/form.pl HTTP/1.1
Host: www.origin-server.com
Accept: text/html, text/plain
Accept-Encoding: compress
Cache-Control: no-cache

""")
    message = crlf(f"""REQMOD icap://icap-server.net/server?arg=87 ICAP/1.0
Host: icap-server.net
Encapsulated: req-hdr=0, req-body={len(http)}

""") + http + crlf("1e\nI am posting this information.\n0\n\n")
    head, rest = split(message)
    request = parse_request(head)
    assert request.method == "REQMOD" and request.uri == "icap://icap-server.net/server?arg=87"
    assert parse_http_head(request.sections(rest[:request.heads_size])["req-hdr"]).start[0] == "POST"
    assert chunked_body(rest[request.heads_size:])[0] == b"I am posting this information."


def test_the_rfc_options_example_and_our_answer():
    # RFC 3507 §4.10.2: a client's OPTIONS, with no Encapsulated at all.
    request = parse_request(crlf("""OPTIONS icap://icap.server.net/sample-service ICAP/1.0
Host: icap.server.net
User-Agent: BazookaDotCom-ICAP-Client-Library/2.3

"""))
    assert request.method == "OPTIONS" and request.encapsulated == () and not request.has_body
    answer = options('"sentinelle-1"', "Sentinelle", preview=4096, max_connections=64)
    assert answer.startswith(b"ICAP/1.0 200 OK\r\n") and answer.endswith(b"\r\n\r\n")
    lines = answer.decode().split("\r\n")
    for expected in ("Methods: RESPMOD", "Allow: 204", "Preview: 4096", "Transfer-Preview: *",
                     'ISTag: "sentinelle-1"', "Encapsulated: null-body=0", "Max-Connections: 64"):
        assert expected in lines


def test_a_preview_that_holds_the_whole_body_ends_with_ieof():
    # RFC 3507 §4.5: a body shorter than the preview comes whole, its last chunk marked ieof.
    res_hdr = crlf("HTTP/1.1 200 OK\nContent-Type: image/jpeg\nContent-Length: 5\n\n")
    req_hdr = crlf("GET https://scontent.cdninstagram.com/v/a.jpg HTTP/1.1\nHost: scontent.cdninstagram.com\n\n")
    message = crlf(f"""RESPMOD icap://127.0.0.1:1344/respmod ICAP/1.0
Host: 127.0.0.1:1344
Encapsulated: req-hdr=0, res-hdr={len(req_hdr)}, res-body={len(req_hdr) + len(res_hdr)}
Preview: 5
Allow: 204

""") + req_hdr + res_hdr + b"5\r\nhello\r\n0; ieof\r\n\r\n"
    head, rest = split(message)
    request = parse_request(head)
    assert request.preview == 5 and request.allows_204
    body, ieof, _ = chunked_body(rest[request.heads_size:])
    assert (body, ieof) == (b"hello", True)
    url = request_url(parse_http_head(request.sections(rest[:request.heads_size])["req-hdr"]))
    assert url == "https://scontent.cdninstagram.com/v/a.jpg"


def test_a_message_without_a_body_says_null_body():
    request = parse_request(crlf("RESPMOD icap://x/respmod ICAP/1.0\nEncapsulated: req-hdr=0, res-hdr=40, null-body=90\n\n"))
    assert not request.has_body and request.heads_size == 90


@pytest.mark.parametrize("value", [
    "res-body=0, req-hdr=10",  # a body before a head
    "req-hdr=5, res-body=10",  # not from 0
    "req-hdr=0, res-hdr=40, res-hdr=50, res-body=60",  # twice
    "req-hdr=0, res-hdr=40",  # no body section last
    "req-hdr=0, res-hdr=30, res-body=20",  # offsets going back
    "req-hdr=0, res-hdr=x, res-body=20",
    "req-hdr=0, sneaky=3, res-body=20",
    "req-hdr=0, res-body=²",  # a digit to str.isdigit, not to int()
    "req-hdr=0, res-body=٣٠",
    "req-hdr=0, res-body=" + "9" * 5000,  # past what int() converts
])
def test_a_bad_encapsulated_is_refused(value):
    with pytest.raises(IcapError) as refused:
        parse_encapsulated(value)
    assert refused.value.status == 400


def test_encapsulated_heads_past_the_head_limit_are_refused_before_they_are_read():
    # They are read whole, before the body: 512 MiB of "heads" would be held, otherwise.
    assert parse_encapsulated("req-hdr=0, res-hdr=600, res-body=65536")[-1] == ("res-body", 65536)
    with pytest.raises(IcapError) as refused:
        parse_encapsulated(f"req-hdr=0, res-body={512 * 2**20}")
    assert refused.value.status == 413


@pytest.mark.parametrize(("head", "status"), [
    (b"RESPMOD icap://x/respmod ICAP/2.0\r\n\r\n", 505),
    (b"RESPMOD icap://x/respmod\r\n\r\n", 400),
    (b"RESPMOD icap://x/respmod ICAP/1.0\r\nHost: x\r\n\r\n", 400),  # no Encapsulated
    (b"RESPMOD icap://x/respmod ICAP/1.0\r\nno colon\r\n\r\n", 400),
    (b"RESPMOD icap://x/respmod ICAP/1.0\r\nHost: x\r\n", 400),  # no empty line
    (b"RESPMOD icap://x/respmod ICAP/1.0\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 413),
    ("RESPMÖD icap://x/respmod ICAP/1.0\r\nEncapsulated: null-body=0\r\n\r\n".encode("latin-1"), 400),
])
def test_a_bad_head_is_refused_with_its_status(head, status):
    with pytest.raises(IcapError) as refused:
        parse_request(head)
    assert refused.value.status == status


@pytest.mark.parametrize("value", ["²", "12a", "-1", "9" * 5000, ""])
def test_a_bad_preview_is_refused(value):
    request = parse_request(crlf(f"RESPMOD icap://x/respmod ICAP/1.0\nEncapsulated: res-body=0\nPreview: {value}\n\n"))
    with pytest.raises(IcapError) as refused:
        _ = request.preview
    assert refused.value.status == 400


def test_a_status_code_of_other_digits_is_no_status():
    assert parse_http_head(b"HTTP/1.1 2\xb2\xb2 OK\r\n\r\n").status == 0
    assert parse_http_head(b"HTTP/1.1 200 OK\r\n\r\n").status == 200


@pytest.mark.parametrize(("line", "expected"), [
    (b"33\r\n", (0x33, False)), (b"0\r\n", (0, False)), (b"0; ieof\r\n", (0, True)),
    (b"0;ieof\r\n", (0, True)), (b"1F4 ; name=value\r\n", (500, False)),
])
def test_chunk_size_lines(line, expected):
    assert parse_chunk_line(line) == expected


@pytest.mark.parametrize("line", [b"zz\r\n", b"\r\n", b"123456789\r\n", b"-1\r\n", b"12"])
def test_bad_chunk_size_lines_are_refused(line):
    with pytest.raises(IcapError):
        parse_chunk_line(line)


def test_answers_are_well_formed():
    assert CONTINUE == b"ICAP/1.0 100 Continue\r\n\r\n"
    assert no_content('"t"') == b'ICAP/1.0 204 No Content\r\nISTag: "t"\r\nEncapsulated: null-body=0\r\n\r\n'
    res_hdr = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n"
    echoed = echo_head('"t"', res_hdr, has_body=True) + chunk(b"abc") + chunk(b"") + LAST_CHUNK
    head, rest = split(echoed)
    request_like = parse_request(head.replace(b"ICAP/1.0 200 OK", b"X icap://x ICAP/1.0"))
    assert request_like.encapsulated == (("res-hdr", 0), ("res-body", len(res_hdr)))
    assert rest[:len(res_hdr)] == res_hdr and chunked_body(rest[len(res_hdr):])[0] == b"abc"


@pytest.mark.parametrize(("url", "host"), [
    ("https://scontent.cdninstagram.com:8443/v/a.jpg", "scontent.cdninstagram.com"),
    ("https://user@pbs.twimg.com/media/x?format=jpg", "pbs.twimg.com"),
    ("http://[::1]:8080/x", "::1"),
    ("https://i.pinimg.com", "i.pinimg.com"),
])
def test_the_host_of_a_url(url, host):
    assert url_host(url) == host


def test_a_default_port_is_left_out_of_the_url():
    head = parse_http_head(b"GET https://pbs.twimg.com:443/media/x HTTP/1.1\r\nHost: pbs.twimg.com\r\n\r\n")
    assert request_url(head) == "https://pbs.twimg.com/media/x"
    relative = parse_http_head(b"GET /a.jpg HTTP/1.1\r\nHost: i.redd.it:80\r\n\r\n")
    assert request_url(relative) == "http://i.redd.it/a.jpg"
