#!/usr/bin/env python3
"""HTTP/1.1 conformance: raw edge cases against three servers on one docroot.

usage: conformance.py FILESERVER [--only SUBSTRING] [--verbose] [--show]
                                 [--differences-markdown]

--only runs the cases whose name contains SUBSTRING (in both phases),
--verbose prints the passing ones too, --show every response head;
--differences-markdown prints the DIFFERENCES table for the README and
exits.

The servers, each on its own free loopback port (127.0.0.1, or ::1 with
FILESERVER_TEST_HOST=::1) and a second one for HTTPS (see below):
  kernel  fileserver with the eBPF path on (needs root and BPF; SKIP loudly
          otherwise)
  user    fileserver -n
  nginx   Debian's /usr/sbin/nginx with nginx.conf.in (SKIP loudly without it)

Every case is a sequence of raw bytes sent on a new connection (in one write
unless it says otherwise). Each server's answer is read with a strict HTTP/1.1
reader and reduced to an outcome: the status of each response, interim ones
included ("100"), "0.9" for a response without a status line, then "keep" if
the connection stayed usable (a probe request right after the last response
is answered correctly) or "close" if the server closed it. Framing is checked
on every response: one Content-Length that matches the body, no body for
HEAD, 304 or 1xx, Date present, Content-Range on 206/416, the connection
closed exactly when the last response says "Connection: close", and nothing
between one response and the next.

Then:
  kernel vs user: identical (status lines, header lines minus Date, bodies,
                  outcome); in kernel mode the stats map must show the number
                  of kernel hits the case declares (k=, default 0), so that
                  cacheable cases really are answered by the kernel and the
                  others really are not.
  fileserver:     outcome == the case's expectation (the RFC 9110/9112 answer)
  nginx:          the same outcome and the same key headers (Content-Type,
                  Content-Length and body of 2xx, Content-Range, Allow,
                  Location), except for the cases in DIFFERENCES, where both
                  sides' outcomes are pinned so that a change on either side
                  fails the test.

Two more checks send one request in two writes split at every byte offset
(with a pause between, TCP_NODELAY) and require the same response each time,
on a new connection and on one kept-alive connection: a request the kernel
answers (all of them kernel hits) and one only userspace answers. Another
repeats a sequence that once stalled the kernel mode now and then
(stall-after-userspace-first: a stream-parser run that found nothing new
while a request passed with SK_PASS was unread made the kernel count it as
read twice, so a next request no longer than it never woke the parser).

The HTTPS phase runs it all again over TLS. A self-signed EC P-256
certificate for the test host (CN and SAN) is made once per run in the temp
dir by the openssl CLI (without it: SKIP loudly, and the servers listen for
plain HTTP only). Each server also listens for TLS on a second port:
fileserver with --tls-port/--tls-cert/--tls-key, nginx with a second
"listen ... ssl" in the same server block, so that every other setting is
the same on both ports. Through Python's ssl module (the certificate
trusted, no host name check, ALPN http/1.1; warm-up checks TLS 1.3 and
http/1.1 were chosen, and each server's ETags are those of its plain port),
every case is sent to the TLS ports (the fallback cases to the fallback
phase's servers), named "tls:CASE", each write one TLS record (more past
16 KiB), and checked as above: kernel vs user, the expectation, nginx (by
DIFFERENCES; TLS_DIFFERENCES pins where nginx answers otherwise over TLS:
nowhere so far), and kernel hits, which must be 0: TLS is always answered
by userspace. Over TLS, fileserver must also answer every case byte for
byte as it did over plain HTTP, Date aside (plain/tls). Both split checks
run over TLS too, a piece a record (no kernel hits expected there either);
the stall check, about the kernel path, does not. The cases of group
"tls" run in this phase only: plain HTTP sent to the TLS port (400, then
close; the bodies and Server differ, so only outcomes are compared), one
request in two or more TLS records with pauses between, pipelined requests
and bodies over 16 KiB across records, HTTP/1.0 keep-alive and Connection:
close on the TLS port, and a few over TLS 1.2.

The last check reads the kernel's stats: no request went to userspace with
SK_PASS (no-direct-pass).

Exit status: 0 all passed, 1 something failed, 77 nothing could run.
"""
import argparse
import collections
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from harness import HOST, URL_HOST, Process, Server, free_port  # noqa: E402

SKIP = 77
# tools/vmtest's factor for emulated CPUs: waits stretch, checks do not
SLOWDOWN = float(os.environ.get("FILESERVER_TEST_SLOWDOWN", "1"))
TIMEOUT = 2.0 * SLOWDOWN    # every response must arrive within this
STALL_WAIT = 0.3 * SLOWDOWN  # for the second answer of stall_check
NGINX = "/usr/sbin/nginx"
SPLIT_GAP = 0.004       # pause between the two writes of a split request
PRIMER = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"    # see Conn
CLOSE_WAIT = 1.0        # for a server to close after "Connection: close"


def content(size, seed):
    block = bytes((i * 31 + seed) & 0xFF for i in range(251))
    return (block * (size // 251 + 1))[:size]


# The docroot, created in a temp dir (paths are bytes: one is UTF-8).
FILES = {
    b"/a.txt": b"alpha\n" * 50,
    b"/index.html": b"<p>root index</p>\n",
    b"/style.css": b"body{}\n",
    b"/data.json": b'{"x": 1}\n',
    b"/dir/index.html": b"<p>dir index</p>\n",
    b"/dir/sub/deep.txt": b"deep\n",
    b"/noindex/file.txt": b"no index here\n",
    b"/big.bin": content(100000, 7),
    b"/empty.txt": b"",
    b"/sp ace.txt": b"space\n",
    b"/100%.txt": b"percent\n",
    b"/caf\xc3\xa9.txt": b"cafe\n",
    b"/a+b.txt": b"plus\n",
    # the 404 page of both servers (--error-page, error_page)
    b"/404.html": b"<p>no such page here</p>\n",
    # a precompressed variant (the bytes need not be gzip's)
    b"/gz.css": b"gz{color:red}\n" * 20,
    b"/gz.css.gz": b"GZIPPED-BYTES\n",
}
BIG = len(FILES[b"/big.bin"])
# sent after the last response of a case that should keep the connection:
# one only userspace answers, so that kernel hits count the case alone
PROBE = b"GET /a%2etxt HTTP/1.1\r\nHost: probe\r\n\r\n"


# ---- requests and cases ---------------------------------------------------

def R(target="/a.txt", method="GET", version="HTTP/1.1", host="test",
      headers=(), body=b"", eol="\r\n"):
    """One request. Strings are latin-1, so "\\xc3" is the byte 0xc3."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: " + host)
    lines += list(headers)
    return (eol.join(lines) + eol + eol).encode("latin-1") + body


Case = collections.namedtuple(
    "Case", "name group reqs expect k chunks gap methods wire")
CASES = []
_group = [""]


def group(name):
    _group[0] = name


def case(name, reqs, expect, k=0, chunks=None, gap=0.05, methods=None,
         wire=None):
    """reqs: the request(s), bytes or a list (pipelined in one write unless
    chunks gives the writes); expect: fileserver's outcome, e.g. "200 keep";
    k: kernel hits in kernel mode (an int, (min, max), or None: not
    checked; over TLS always 0); chunks, gap: the writes and the pause
    between them (over TLS a write is a TLS record); methods: the method of
    each expected response (HEAD has no body), guessed from reqs; wire, for
    the cases of group "tls" (HTTPS phase only): None for TLS as every case,
    "tls1.2" for TLS 1.2 at most, "plain" for no TLS (to the TLS port)."""
    if isinstance(reqs, bytes):
        reqs = [reqs]
    if methods is None:
        methods = [r.lstrip(b"\r\n").split(b" ", 1)[0] for r in reqs]
    if chunks is None:
        chunks = [b"".join(reqs)]
    assert name not in [c.name for c in CASES], name
    CASES.append(Case(name, _group[0], reqs, expect, k, chunks, gap,
                      methods, wire))


Diff = collections.namedtuple("Diff", "fileserver nginx why headers "
                                      "nginx_framing")


def diff(fileserver, nginx, why, headers=None, nginx_framing=None):
    """headers: {name: (fileserver value, nginx value)} (None: absent; the
    media type only for Content-Type) wherever the two servers' responses
    differ in that header, which they must somewhere; nginx_framing: a
    framing fault nginx is known to commit in the case."""
    return Diff(fileserver, nginx, why, headers or {}, nginx_framing)


ALLOW = "GET, HEAD"
NO_ALLOW = {"allow": (ALLOW, None)}

# Where fileserver and nginx answer differently on purpose, or nginx is not
# the standard: case -> (fileserver outcome, nginx outcome, why[, header
# values (fileserver, nginx) where they differ]). Both outcomes are checked:
# a change on either side fails the test. The fileserver outcome repeats the
# case's expectation (checked to agree), so that the table reads alone;
# `conformance.py X --differences-markdown` prints it for the README.
DIFFERENCES = {
    # -- request line and version
    "http09-request": diff(
        "400 close", "0.9 close",
        "HTTP/0.9 (a request line without version) is not spoken; nginx "
        "still answers it with a bare body. Support for 0.9 is optional."),
    "http09-request-blank-line": diff(
        "400 close", "0.9 close", "As http09-request."),
    "version-0.9": diff(
        "505 close", "400 close",
        "\"HTTP/0.9\" on a request line is a well-formed version this "
        "server does not support: 505 (RFC 9110 15.6.6); nginx calls it "
        "malformed."),
    "h2-preface": diff(
        "505 close", "400 close",
        "The HTTP/2 connection preface sent to an HTTP/1.1 server: "
        "fileserver answers it as an HTTP/2.0 request (505), nginx (no "
        "http2 on this listener) as malformed."),
    "uri-8192": diff(
        "200 keep", "414 close",
        "fileserver's limit is on the target (8 KiB), nginx's on the whole "
        "request line (8 KiB buffer with method and version)."),
    "path-6000": diff(
        "414 close", "404 keep",
        "A 6001-byte path (3000 segments) is within the 8 KiB target "
        "limit but over PATH_MAX (4096) once decoded: fileserver answers "
        "414 (RFC 9110 15.5.15: longer than it is willing to interpret); "
        "nginx tries the file and answers 404."),
    "asterisk-options": diff(
        "405 keep", "400 close",
        "\"OPTIONS *\" is a valid request (RFC 9112 3.2.4); fileserver "
        "answers OPTIONS with 405 and Allow, nginx calls it malformed "
        "(not standard).",
        {"allow": (ALLOW, None)}),
    "version-1.10": diff(
        "400 close", "200 keep",
        "HTTP-version is DIGIT \".\" DIGIT (RFC 9112 2.3): \"1.10\" is "
        "invalid; nginx reads it as 1.10 and answers as 1.1."),
    "request-line-double-space": diff(
        "400 close", "200 keep",
        "The request line has single SPs (RFC 9112 3); a recipient MAY "
        "parse on whitespace instead (at a smuggling risk): nginx does, "
        "fileserver refuses."),
    "request-line-trailing-space": diff(
        "400 close", "200 keep",
        "As above: whitespace after the version; nginx skips it."),
    "method-lowercase": diff(
        "501 close", "400 close",
        "Methods are case-sensitive tokens (RFC 9110 9.1): \"get\" is a "
        "well-formed unknown method, 501 (RFC 9110 15.6.2); nginx only "
        "parses upper-case methods and calls it malformed."),
    "method-mixed-case": diff(
        "501 close", "400 close", "As method-lowercase."),
    "method-trace": diff(
        "405 keep", "405 close",
        "Both refuse TRACE; nginx also closes the connection, and sends no "
        "Allow (RFC 9110 15.5.6 requires one).", NO_ALLOW),
    "method-unknown": diff(
        "501 close", "405 keep",
        "An unrecognised method is 501 (RFC 9110 9.1, 15.6.2); nginx's "
        "static handler answers every method it does not serve 405, and "
        "without Allow (RFC 9110 15.5.6 requires it)."),
    # -- header fields
    "header-no-colon": diff(
        "400 close", "200 keep",
        "A field line without a colon is malformed (RFC 9112 5): "
        "fileserver refuses the request, nginx ignores the line "
        "(ignore_invalid_headers)."),
    "header-name-slash": diff(
        "400 close", "200 keep", "As header-bad-name-char."),
    "header-name-utf8": diff(
        "400 close", "200 keep", "As header-bad-name-char."),
    "host-empty": diff(
        "200 keep", "400 close",
        "An empty Host leaves the target URI without authority; the server "
        "can reject the request or use a configured default (RFC 9112 "
        "3.3): fileserver serves it (it has one site), nginx refuses it."),
    "header-9000": diff(
        "200 keep", "400 close",
        "A 9000-byte field line: fileserver allows a 16 KiB head; nginx "
        "allows 8 KiB per line (large_client_header_buffers 4 8k) and "
        "answers its \"Request Header Or Cookie Too Large\" with 400."),
    "header-20000": diff(
        "431 close", "400 close",
        "Over fileserver's 16 KiB head limit: 431 (RFC 6585 5); nginx uses "
        "400 for a field line over 8 KiB."),
    "headers-20k-total": diff(
        "431 close", "200 keep",
        "fileserver limits the whole head to 16 KiB; nginx only each line "
        "(8 KiB) within 4 x 8 KiB buffers."),
    "headers-101": diff(
        "431 close", "200 keep",
        "fileserver allows 100 field lines; nginx has no count limit."),
    "header-bad-name-char": diff(
        "400 close", "200 keep",
        "A field name is a token (RFC 9110 5.1); fileserver refuses the "
        "line, nginx ignores it (ignore_invalid_headers)."),
    "header-ctl-in-value": diff(
        "400 close", "200 keep",
        "RFC 9110 5.5: a field value with a CTL other than HTAB is invalid "
        "(a recipient MAY retain it): fileserver refuses the request, "
        "nginx keeps the byte."),
    "pct-crlf": diff(
        "400 close", "404 keep",
        "A decoded control byte (here CR LF) in the path: fileserver "
        "refuses it (no file should have one, and it must never reach a "
        "Location or log line); nginx looks the name up."),
    # -- bodies and framing
    "content-length-too-big": diff(
        "413 close", "413 close-after-fin",
        "Both refuse a 2 MB body; nginx keeps reading (to discard the body "
        "it was promised) until the client has finished, a staged close "
        "(RFC 9112 9.6), fileserver closes at once."),
    "content-length-duplicate-equal": diff(
        "200 keep", "400 close",
        "RFC 9110 8.6 allows a recipient to accept identical repeated "
        "Content-Lengths as one; nginx refuses any duplicate."),
    # -- Expect
    "expect-100-body-later": diff(
        "200 keep", "100 200 keep",
        "fileserver answers the GET at once, without 100 Continue (a "
        "server MAY, RFC 9110 10.1.1), and discards the body when it "
        "comes; nginx sends 100, then the final response."),
    "expect-100-body-at-once": diff(
        "200 keep", "100 200 keep",
        "As expect-100-body-later: a server MAY omit 100 once it has the "
        "content (RFC 9110 10.1.1)."),
    "expect-100-no-body": diff(
        "200 keep", "100 200 keep",
        "No content is coming, so a server MAY omit 100 (RFC 9110 10.1.1);"
        " nginx sends it anyway."),
    "expect-unknown": diff(
        "417 close", "200 keep",
        "RFC 9110 10.1.1: a server MAY answer an unknown expectation with "
        "417; nginx ignores Expect values other than 100-continue."),
    "chunked-not-last": diff(
        "400 close", "501 close",
        "RFC 9112 6.1: when chunked is not the final transfer coding, the "
        "body's length cannot be determined and the server MUST answer 400 "
        "and close; nginx answers 501 for any coding besides chunked."),
    # -- ranges
    "range-multiple": diff(
        "200 keep", "206 keep",
        "Several ranges: fileserver serves the whole file (a server MAY "
        "ignore Range, RFC 9110 14.2); nginx sends multipart/byteranges.",
        {"content-type": ("application/octet-stream",
                          "multipart/byteranges")}),
    "range-multiple-spaced": diff(
        "200 keep", "206 keep", "As range-multiple.",
        {"content-type": ("application/octet-stream",
                          "multipart/byteranges")}),
    "range-first-after-last": diff(
        "200 keep", "416 keep",
        "bytes=5-1 is invalid (RFC 9110 14.1.1); a server MAY ignore or "
        "reject an invalid ranges-specifier (14.2): fileserver ignores it, "
        "nginx answers 416."),
    "range-garbage": diff(
        "200 keep", "416 keep",
        "As range-first-after-last, for bytes=abc."),
    "range-empty-file": diff(
        "416 keep", "200 keep",
        "Any range of an empty file is unsatisfiable (RFC 9110 14.1.1): "
        "416; nginx ignores the Range (a server MAY, 14.2)."),
    "range-twice": diff(
        "200 keep", "206 keep",
        "Two Range fields: fileserver ignores both (a server MAY ignore "
        "Range, RFC 9110 14.2); nginx uses one."),
    "gzip-range": diff(
        "206 keep", "200 keep",
        "Range on a precompressed variant: fileserver sends the range of "
        "the variant's bytes (RFC 9110 14: a range applies to the selected "
        "representation), so an interrupted download of the .gz resumes; "
        "nginx's gzip_static ignores Range (a server MAY, 14.2).",
        {"content-range": ("bytes 2-5/14", None)}),
    # -- conditionals
    "if-none-match-and-old-ims": diff(
        "304 keep", "200 keep",
        "RFC 9110 13.2.2: If-Modified-Since is evaluated only without "
        "If-None-Match; nginx checks both and sends the file (not "
        "standard)."),
    "if-match-other": diff(
        "412 keep", "412 close",
        "Both answer what RFC 9110 13.1.1 asks for; nginx sends 412 with "
        "Connection: keep-alive and then closes.",
        nginx_framing="closed after a keep-alive response"),
    "if-unmodified-since-earlier": diff(
        "412 keep", "412 close", "As if-match-other.",
        nginx_framing="closed after a keep-alive response"),
    # -- absolute-form and targets
    "absolute-form-ftp": diff(
        "400 close", "200 keep",
        "An absolute-form target with a scheme other than http(s) names a "
        "resource this server cannot have; nginx ignores the scheme."),
}

for _m in ("post", "post-body", "put", "delete", "options", "patch"):
    DIFFERENCES["method-" + _m] = diff(
        "405 keep", "405 keep",
        "Same status; nginx sends no Allow with its 405 (RFC 9110 15.5.6: "
        "an origin server MUST).", NO_ALLOW)
DIFFERENCES["fallback-post"] = diff(
    "405 keep", "405 keep", "As method-post: no Allow from nginx.", NO_ALLOW)
DIFFERENCES["pipe-405-continues"] = diff(
    "200 405 200 keep", "200 405 200 keep",
    "As method-post: no Allow from nginx.", NO_ALLOW)

# The HTTPS phase uses DIFFERENCES too (a case answered otherwise over TLS
# than over plain HTTP is a failure of its own, plain/tls, for fileserver);
# where nginx answers a case otherwise over TLS, its entry here replaces
# the DIFFERENCES one in that phase.
TLS_DIFFERENCES = {}


def build_cases(env):
    """The cases; env has the docroot's dates for conditional requests
    (ETags are per server: @ETAG@ is replaced at send time)."""
    lm, later, earlier = env["lm"], env["lm_later"], env["lm_earlier"]

    group("basics")
    case("get-file", R(), "200 keep", k=1)
    case("head-file", R(method="HEAD"), "200 keep", k=1)
    case("get-root-index", R("/"), "200 keep", k=1)
    case("get-dir-index", R("/dir/"), "200 keep", k=1)
    case("get-deep-file", R("/dir/sub/deep.txt"), "200 keep", k=1)
    case("get-big-file", R("/big.bin"), "200 keep", k=1)
    case("head-big-file", R("/big.bin", "HEAD"), "200 keep", k=1)
    case("get-empty-file", R("/empty.txt"), "200 keep", k=1)
    case("content-type-css", R("/style.css"), "200 keep", k=1)
    case("content-type-json", R("/data.json"), "200 keep", k=1)
    case("dir-redirect", R("/dir"), "301 keep")
    case("dir-redirect-head", R("/dir", "HEAD"), "301 keep")
    case("dir-no-index", R("/noindex/"), "403 keep")
    case("missing", R("/missing.txt"), "404 keep")
    case("missing-head", R("/missing.txt", "HEAD"), "404 keep")
    case("query-ignored", R("/a.txt?x=1&y=%zz"), "200 keep", k=1)
    case("fragment-ignored", R("/a.txt#frag"), "200 keep")
    case("host-with-port", R(host="test:8080"), "200 keep", k=1)
    case("host-name-uppercase", R(host=None, headers=["HOST: test"]),
         "200 keep", k=1)
    case("header-utf8-value", R(headers=["X-Name: caf\xc3\xa9"]),
         "200 keep", k=1)
    case("header-tab-value", R(headers=["X-Tab:\tvalue\t"]), "200 keep",
         k=1)

    group("percent-encoding")
    case("pct-unreserved", R("/%61.txt"), "200 keep")
    case("pct-lowercase-hex", R("/a%2etxt"), "200 keep")
    case("pct-uppercase-hex", R("/a%2Etxt"), "200 keep")
    case("pct-space", R("/sp%20ace.txt"), "200 keep")
    case("pct-utf8", R("/caf%C3%A9.txt"), "200 keep")
    case("raw-utf8", R("/caf\xc3\xa9.txt"), "200 keep")
    case("pct-percent", R("/100%25.txt"), "200 keep")
    case("pct-plus", R("/a%2Bb.txt"), "200 keep")
    case("raw-plus", R("/a+b.txt"), "200 keep", k=1)
    case("pct-2f-separator", R("/dir%2Findex.html"), "200 keep")
    case("pct-2f-dotdot-inside", R("/dir/..%2Fa.txt"), "200 keep")
    case("pct-2f-dotdot-above-root", R("/..%2Fa.txt"), "400 close")
    case("pct-dotdot-above-root", R("/%2e%2e/a.txt"), "400 close")
    case("pct-00-end", R("/a.txt%00"), "400 close")
    case("pct-00-middle", R("/a%00.txt"), "400 close")
    case("pct-crlf", R("/a%0D%0A.txt"), "400 close")
    case("pct-bad-hex", R("/a%zz.txt"), "400 close")
    case("pct-truncated", R("/a.txt%"), "400 close")
    case("pct-truncated-one-digit", R("/a.txt%4"), "400 close")
    case("pct-encoded-question-mark", R("/a.txt%3Fx=1"), "404 keep")
    case("raw-ctl-in-target", R("/a\x01.txt"), "400 close")

    group("dot-segments")
    case("dot-current", R("/./a.txt"), "200 keep")
    case("dot-parent", R("/dir/../a.txt"), "200 keep")
    case("dot-parent-twice", R("/dir/sub/../../a.txt"), "200 keep")
    case("dot-above-root", R("/../a.txt"), "400 close")
    case("dot-above-root-deep", R("/dir/../../a.txt"), "400 close")
    case("dot-only-parent", R("/.."), "400 close")
    case("dot-trailing", R("/dir/."), "200 keep")
    case("dot-trailing-parent", R("/dir/sub/.."), "200 keep")
    case("dot-after-file", R("/a.txt/."), "404 keep")
    case("dot-three", R("/..."), "404 keep")
    case("dot-encoded-current", R("/%2e/a.txt"), "200 keep")
    case("dot-half-encoded-parent", R("/dir/.%2e/a.txt"), "200 keep")

    group("slashes")
    case("slash-double-leading", R("//a.txt"), "200 keep")
    case("slash-double-middle", R("/dir//index.html"), "200 keep")
    case("slash-only", R("///"), "200 keep")
    case("slash-after-file", R("/a.txt/"), "404 keep")
    case("slash-double-dir", R("/dir//"), "200 keep")

    group("long-uri")
    # request line = "GET " + target + " HTTP/1.1\r\n" (15 bytes besides)
    q = lambda n: "/a.txt?" + "q" * (n - 7)
    case("uri-8100", R(q(8100)), "200 keep")
    case("uri-8177", R(q(8177)), "200 keep")   # line = 8192 with CRLF
    case("uri-8192", R(q(8192)), "200 keep")
    case("uri-8193", R(q(8193)), "414 close")
    case("uri-16k", R(q(16384)), "414 close")
    case("uri-64k", R(q(65536)), "414 close")
    case("path-6000", R("/" + "d/" * 3000), "414 close")
    case("path-segment-300", R("/" + "a" * 300), "404 keep")

    group("headers")
    big = lambda n: "X-Big: " + "b" * (n - 7)
    case("header-4000", R(headers=[big(4000)]), "200 keep", k=1)
    case("header-7000", R(headers=[big(7000)]), "200 keep")
    case("header-9000", R(headers=[big(9000)]), "200 keep")
    case("header-20000", R(headers=[big(20000)]), "431 close")
    case("headers-15k-total",
         R(headers=["X-H%d: %s" % (i, "h" * 3800) for i in range(4)]),
         "200 keep")
    case("headers-20k-total",
         R(headers=["X-H%d: %s" % (i, "h" * 4000) for i in range(5)]),
         "431 close")
    case("headers-100", R(headers=["X-N%d: v" % i for i in range(99)]),
         "200 keep", k=1)
    case("headers-101", R(headers=["X-N%d: v" % i for i in range(100)]),
         "431 close")
    # the kernel frames heads up to 4 KiB (FS_SCAN_MAX): this one fits...
    base = len(R(headers=["X-Pad: "]))
    case("head-4096", R(headers=["X-Pad: " + "p" * (4096 - base)]),
         "200 keep", k=1)
    # ...and this one is left to userspace
    case("head-4097", R(headers=["X-Pad: " + "p" * (4097 - base)]),
         "200 keep")
    case("obs-fold", R(headers=["X-Fold: a", " folded"]), "400 close")
    case("obs-fold-host", R(headers=[" folded"]), "400 close")
    case("space-before-colon", R(headers=["X-Sp : b"]), "400 close")
    case("header-no-colon", R(headers=["X-No-Colon"]), "400 close")
    case("header-empty-name", R(headers=[": value"]), "400 close")
    case("header-bad-name-char", R(headers=["X[A]: b"]), "400 close")
    case("header-space-in-name", R(headers=["X A: b"]), "400 close")
    case("header-name-slash", R(headers=["X/Y: b"]), "400 close")
    case("header-name-utf8", R(headers=["X-\xc3\xa9: b"]), "400 close")
    case("header-nul-in-value", R(headers=["X-Nul: a\x00b"]), "400 close")
    case("header-ctl-in-value", R(headers=["X-Ctl: a\x01b"]), "400 close")
    case("bare-lf", R(eol="\n"), "200 keep")
    case("bare-lf-last-line", b"GET /a.txt HTTP/1.1\r\nHost: test\n\r\n",
         "200 keep")
    case("lone-cr", b"GET /a.txt HTTP/1.1\rHost: test\r\n\r\n", "400 close")
    case("leading-empty-lines", b"\r\n\r\n" + R(), "200 keep")
    case("host-missing", R(host=None), "400 close")
    case("host-duplicate", R(headers=["Host: other"]), "400 close")
    case("host-duplicate-same", R(headers=["Host: test"]), "400 close")
    case("host-empty", R(host=""), "200 keep", k=1)
    case("host-invalid", R(host="a/b"), "400 close")

    group("request-line")
    case("request-line-double-space", b"GET  /a.txt HTTP/1.1\r\nHost: t"
         b"\r\n\r\n", "400 close")
    case("request-line-trailing-space", b"GET /a.txt HTTP/1.1 \r\nHost: t"
         b"\r\n\r\n", "400 close")
    case("request-line-tab", b"GET\t/a.txt HTTP/1.1\r\nHost: t\r\n\r\n",
         "400 close")
    case("request-line-no-target", b"GET HTTP/1.1\r\nHost: t\r\n\r\n",
         "400 close")
    case("target-relative", R("a.txt"), "400 close")
    case("target-raw-space", R("/sp ace.txt"), "400 close")
    case("asterisk-get", R("*"), "400 close")
    case("asterisk-options", R("*", "OPTIONS"), "405 keep")
    case("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
         "400 close")

    group("absolute-form")
    case("absolute-form", R("http://test/a.txt"), "200 keep")
    case("absolute-form-other-host", R("http://other/a.txt"), "200 keep")
    case("absolute-form-no-host", R("http://test/a.txt", host=None),
         "400 close")
    case("absolute-form-https", R("https://test/a.txt"), "200 keep")
    case("absolute-form-uppercase-scheme", R("HTTP://test/a.txt"),
         "200 keep")
    case("absolute-form-no-path", R("http://test"), "200 keep")
    case("absolute-form-query", R("http://test/a.txt?x=1"), "200 keep")
    case("absolute-form-userinfo", R("http://u@test/a.txt"), "400 close")
    case("absolute-form-empty-host", R("http:///a.txt"), "400 close")
    case("absolute-form-dotdot", R("http://test/../a.txt"), "400 close")
    case("absolute-form-ftp", R("ftp://test/a.txt"), "400 close")

    group("versions")
    case("http10", R(version="HTTP/1.0", host=None), "200 close")
    case("http10-host", R(version="HTTP/1.0"), "200 close")
    case("http10-head", R(method="HEAD", version="HTTP/1.0"), "200 close")
    # what ab -k sends: answered from the kernel's cache
    case("http10-keep-alive", R(version="HTTP/1.0",
                                headers=["Connection: keep-alive"]),
         "200 keep", k=1)
    case("http10-keep-alive-pipelined",
         [R(version="HTTP/1.0", headers=["Connection: keep-alive"]),
          R("/style.css", version="HTTP/1.0",
            headers=["Connection: keep-alive"])], "200 200 keep", k=2)
    case("http10-pipelined-closes",
         [R(version="HTTP/1.0"), R()], "200 close")
    case("http10-404", R("/missing", version="HTTP/1.0"), "404 close")
    case("http11-close", R(headers=["Connection: close"]), "200 close")
    case("http11-close-uppercase", R(headers=["Connection: CLOSE"]),
         "200 close")
    case("http11-keep-alive-and-close",
         R(headers=["Connection: keep-alive, close"]), "200 close")
    case("http11-keep-alive", R(headers=["Connection: keep-alive"]),
         "200 keep", k=1)
    case("http11-connection-other", R(headers=["Connection: upgrade"]),
         "200 keep")
    case("http09-request", b"GET /a.txt\r\n", "400 close")
    case("http09-request-blank-line", b"GET /a.txt\r\n\r\n", "400 close")
    case("version-0.9", R(version="HTTP/0.9"), "505 close")
    case("version-1.2", R(version="HTTP/1.2"), "200 keep")
    case("version-2.0", R(version="HTTP/2.0"), "505 close")
    case("version-3.0", R(version="HTTP/3.0"), "505 close")
    case("version-1.10", R(version="HTTP/1.10"), "400 close")
    case("version-lowercase", R(version="http/1.1"), "400 close")
    case("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "505 close")

    group("methods")
    case("method-lowercase", R(method="get"), "501 close")
    case("method-mixed-case", R(method="Get"), "501 close")
    case("method-unknown", R(method="BREW"), "501 close")
    case("method-bad-token", R(method="G(T"), "400 close")
    # https:// to the plain port: a TLS ClientHello, no line end ever
    # coming; answered at its first byte, not after --header-timeout
    case("not-http-tls-hello",
         b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32),
         "400 close")
    case("method-post", R(method="POST"), "405 keep")
    case("method-post-body", R(method="POST",
                               headers=["Content-Length: 5"], body=b"hello"),
         "405 keep")
    for m in ("PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"):
        case("method-" + m.lower(), R(method=m), "405 keep")
    case("method-connect", R("test:80", "CONNECT"), "400 close")

    group("bodies")
    cl = lambda n: "Content-Length: %s" % n
    case("get-body", R(headers=[cl(5)], body=b"hello"), "200 keep")
    case("get-body-empty", R(headers=[cl(0)]), "200 keep")
    case("get-body-pipelined",
         [R(headers=[cl(5)], body=b"hello"), R("/style.css")],
         "200 200 keep")
    case("get-body-later", R(headers=[cl(5)]) + b"hello", "200 keep",
         chunks=[R(headers=[cl(5)]), b"hello"])
    case("head-body", R(method="HEAD", headers=[cl(5)], body=b"hello"),
         "200 keep")
    case("content-length-too-big", R(headers=[cl(2000000)]), "413 close")
    case("content-length-negative", R(headers=[cl(-1)]), "400 close")
    case("content-length-not-a-number", R(headers=[cl("abc")]),
         "400 close")
    case("content-length-plus", R(headers=[cl("+5")], body=b"hello"),
         "400 close")
    case("content-length-list", R(headers=[cl("5, 5")], body=b"hello"),
         "400 close")
    case("content-length-duplicate-equal",
         R(headers=[cl(5), cl(5)], body=b"hello"), "200 keep")
    case("content-length-conflict",
         R(headers=[cl(5), cl(6)], body=b"hello!"), "400 close")
    case("content-length-ows", R(headers=["Content-Length:  5  "],
                                 body=b"hello"), "200 keep")
    te = "Transfer-Encoding: chunked"
    chunked = b"5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
    case("transfer-encoding-chunked",
         R(headers=[te], body=b"5\r\nhello\r\n0\r\n\r\n"), "200 keep")
    case("chunked-pipelined", [R(headers=[te], body=chunked), R("/style.css")],
         "200 200 keep")
    case("chunked-in-pieces", [R(headers=[te], body=chunked), R("/style.css")],
         "200 200 keep", chunks=[R(headers=[te]) + chunked[:3], chunked[3:14],
                                 chunked[14:] + R("/style.css")])
    case("chunked-bad-size", R(headers=[te], body=b"zz\r\n"), "400 close")
    case("chunked-bad-data-end", R(headers=[te], body=b"5\r\nhelloXX\r\n"),
         "400 close")
    case("chunked-http10", R(version="HTTP/1.0", headers=[te],
                             body=b"0\r\n\r\n"), "400 close")
    case("chunked-not-last", R(headers=["Transfer-Encoding: chunked, gzip"],
                               body=b"0\r\n\r\n"), "400 close")
    case("transfer-encoding-and-content-length",
         R(headers=["Transfer-Encoding: chunked", cl(5)],
           body=b"0\r\n\r\n"), "400 close")
    case("transfer-encoding-gzip", R(headers=["Transfer-Encoding: gzip"]),
         "501 close")

    group("expect")
    exp = "Expect: 100-continue"
    case("expect-100-body-later", R(headers=[exp, cl(5)]) + b"hello",
         "200 keep", chunks=[R(headers=[exp, cl(5)]), b"hello"], gap=0.2)
    case("expect-100-body-at-once", R(headers=[exp, cl(5)], body=b"hello"),
         "200 keep")
    case("expect-100-no-body", R(headers=[exp]), "200 keep")
    case("expect-100-http10", R(version="HTTP/1.0", headers=[exp, cl(5)],
                                body=b"hello"), "200 close")
    case("expect-unknown", R(headers=["Expect: teapot"]), "417 close")

    group("ranges")
    rg = lambda v, *more, t="/big.bin", m="GET": R(
        t, m, headers=["Range: " + v] + list(more))
    case("range-single", rg("bytes=0-9"), "206 keep")
    case("range-middle", rg("bytes=1000-1999"), "206 keep")
    case("range-one-byte", rg("bytes=0-0"), "206 keep")
    case("range-last-byte", rg("bytes=%d-%d" % (BIG - 1, BIG - 1)),
         "206 keep")
    case("range-suffix", rg("bytes=-10"), "206 keep")
    case("range-suffix-longer-than-file", rg("bytes=-200000"), "206 keep")
    case("range-open", rg("bytes=99990-"), "206 keep")
    case("range-end-beyond-size", rg("bytes=99990-200000"), "206 keep")
    case("range-whole", rg("bytes=0-"), "206 keep")
    case("range-unit-uppercase", rg("BYTES=0-9"), "206 keep")
    case("range-head", rg("bytes=0-9", m="HEAD"), "206 keep")
    case("range-small-file", rg("bytes=1-3", t="/a.txt"), "206 keep")
    case("range-multiple", rg("bytes=0-1,5-6"), "200 keep")
    case("range-multiple-spaced", rg("bytes=0-1, 5-6"), "200 keep")
    case("range-first-after-last", rg("bytes=5-1"), "200 keep")
    case("range-garbage", rg("bytes=abc"), "200 keep")
    case("range-other-unit", rg("items=0-1"), "200 keep")
    case("range-no-unit", rg("0-1"), "200 keep")
    case("range-unsatisfiable", rg("bytes=200000-"), "416 keep")
    case("range-unsatisfiable-at-size", rg("bytes=%d-" % BIG), "416 keep")
    case("range-suffix-zero", rg("bytes=-0"), "416 keep")
    case("range-empty-file", rg("bytes=0-", t="/empty.txt"), "416 keep")
    case("range-missing-file", rg("bytes=0-1", t="/missing"), "404 keep")
    case("range-twice", rg("bytes=0-1", "Range: bytes=2-3"), "200 keep")
    case("if-range-etag-match", rg("bytes=0-9", "If-Range: @ETAG@"),
         "206 keep")
    case("if-range-etag-stale", rg("bytes=0-9", 'If-Range: "stale"'),
         "200 keep")
    case("if-range-weak-etag", rg("bytes=0-9", "If-Range: W/@ETAG@"),
         "200 keep")
    case("if-range-date-match", rg("bytes=0-9", "If-Range: " + lm),
         "206 keep")
    case("if-range-date-earlier", rg("bytes=0-9", "If-Range: " + earlier),
         "200 keep")
    case("if-range-without-range", R("/big.bin", headers=[
        "If-Range: @ETAG@"]), "200 keep")

    group("conditionals")
    cond = lambda *h, t="/big.bin", m="GET": R(t, m, headers=list(h))
    # revalidations the kernel answers with the cached entry's 304 (k=1):
    # the ETag itself, W/ of it, "*", the Last-Modified date exactly
    case("if-none-match", cond("If-None-Match: @ETAG@"), "304 keep", k=1)
    case("if-none-match-star", cond("If-None-Match: *"), "304 keep", k=1)
    case("if-none-match-list", cond('If-None-Match: "a", @ETAG@'),
         "304 keep")
    case("if-none-match-weak", cond("If-None-Match: W/@ETAG@"), "304 keep",
         k=1)
    case("if-none-match-other", cond('If-None-Match: "other"'), "200 keep")
    case("if-none-match-head", cond("If-None-Match: @ETAG@", m="HEAD"),
         "304 keep", k=1)
    case("if-none-match-missing-file",
         cond("If-None-Match: *", t="/missing"), "404 keep")
    case("if-modified-since-equal", cond("If-Modified-Since: " + lm),
         "304 keep", k=1)
    case("if-modified-since-later", cond("If-Modified-Since: " + later),
         "304 keep")
    case("if-modified-since-earlier",
         cond("If-Modified-Since: " + earlier), "200 keep")
    case("if-modified-since-rfc850",
         cond("If-Modified-Since: " + env["lm_rfc850"]), "304 keep")
    case("if-modified-since-asctime",
         cond("If-Modified-Since: " + env["lm_asctime"]), "304 keep")
    case("if-modified-since-invalid", cond("If-Modified-Since: yesterday"),
         "200 keep")
    case("if-none-match-wins-over-ims",
         cond('If-None-Match: "other"', "If-Modified-Since: " + lm),
         "200 keep")
    case("if-none-match-and-old-ims",
         cond("If-None-Match: @ETAG@", "If-Modified-Since: " + earlier),
         "304 keep", k=1)
    case("if-modified-since-with-range",
         cond("If-Modified-Since: " + lm, "Range: bytes=0-9"), "304 keep")
    case("if-match-star", cond("If-Match: *"), "200 keep")
    case("if-match-match", cond("If-Match: @ETAG@"), "200 keep")
    case("if-match-other", cond('If-Match: "other"'), "412 keep")
    case("if-unmodified-since-equal",
         cond("If-Unmodified-Since: " + lm), "200 keep")
    case("if-unmodified-since-earlier",
         cond("If-Unmodified-Since: " + earlier), "412 keep")

    group("precompressed")
    gz = lambda *h, m="GET", v="HTTP/1.1": R("/gz.css", m, v,
                                             headers=list(h))
    # a list of bare codings is the kernel's (k=1); q-values userspace's
    case("gzip-accepted", gz("Accept-Encoding: gzip, deflate, br"),
         "200 keep", k=1)
    case("gzip-not-asked", gz(), "200 keep", k=1)
    case("gzip-refused", gz("Accept-Encoding: gzip;q=0, deflate"), "200 keep")
    case("gzip-head", gz("Accept-Encoding: gzip", m="HEAD"), "200 keep", k=1)
    case("gzip-range", gz("Accept-Encoding: gzip", "Range: bytes=2-5"),
         "206 keep")
    case("gzip-http10", gz("Accept-Encoding: gzip", "Connection: keep-alive",
                           v="HTTP/1.0"), "200 keep", k=1)
    case("gzip-revalidated", gz("Accept-Encoding: gzip",
                                "If-None-Match: @GZETAG@"), "304 keep", k=1)

    group("fallback")   # on the fallback phase's servers only (FALLBACK_*)
    case("fallback-route", R("/app/route/42"), "200 keep")
    case("fallback-head", R("/app/x", "HEAD"), "200 keep")
    case("fallback-file", R("/a.txt"), "200 keep", k=1)
    case("fallback-dir-without-index", R("/noindex/"), "403 keep")
    case("fallback-post", R("/app/route", "POST"), "405 keep")
    case("fallback-pipelined", [R("/app/1"), R("/style.css"), R("/app/2")],
         "200 200 200 keep", k=None)

    group("pipelining")
    # Pipelines of hits only are the kernel's. Once a pipeline holds a
    # request userspace must answer, the kernel passes on what follows while
    # userspace owes a response, and may hand hits before it back to
    # userspace too (fallback_busy) rather than let them overtake: how many
    # the kernel answers then is not pinned, only the bytes are.
    a, user = R(), R("/a%2etxt")
    case("pipe-3-hits", [a, a, a], "200 200 200 keep", k=3)
    case("pipe-hit-miss-hit", [a, R("/missing"), a], "200 404 200 keep",
         k=(0, 2))
    case("pipe-hit-user-hit", [a, user, a], "200 200 200 keep", k=(0, 2))
    case("pipe-user-hit-hit", [user, a, a], "200 200 200 keep", k=(0, 2))
    case("pipe-head-get-head", [R(method="HEAD"), a,
                                R("/big.bin", "HEAD")],
         "200 200 200 keep", k=3)
    case("pipe-big-small-range-small",
         [R("/big.bin"), R("/style.css"),
          R("/big.bin", headers=["Range: bytes=10-20"]), a],
         "200 200 206 200 keep", k=(0, 3))
    case("pipe-304-206-200",
         [R("/big.bin", headers=["If-None-Match: @ETAG@"]),
          R("/big.bin", headers=["Range: bytes=-3"]), a],
         "304 206 200 keep", k=(0, 1))
    case("pipe-301-404-200", [R("/dir"), R("/missing"), R("/dir/")],
         "301 404 200 keep", k=(0, 1))
    case("pipe-error-stops", [a, R(version="HTTP/2.0"), a],
         "200 505 close", k=(0, 1))
    case("pipe-garbage-stops", [a, b"GARBAGE\r\n\r\n", a], "200 400 close",
         k=(0, 1))
    case("pipe-close-stops", [a, R(headers=["Connection: close"]), a],
         "200 200 close", k=(0, 1))
    case("pipe-405-continues",
         [a, R(method="POST", headers=["Content-Length: 5"], body=b"hello"),
          a], "200 405 200 keep", k=(0, 1))
    case("pipe-20-mixed", [a if i % 2 else user for i in range(20)],
         " ".join(["200"] * 20) + " keep", k=(0, 10))
    case("pipe-10-hits-split-in-3",
         [a] * 10, " ".join(["200"] * 10) + " keep", k=10,
         chunks=[b"".join([a] * 10)[:100], b"".join([a] * 10)[100:200],
                 b"".join([a] * 10)[200:]], gap=0.01)

    group("tls")    # in the HTTPS phase only (every other case runs there too)
    # plain HTTP to the TLS port: 400, then close (bodies and Server differ)
    case("tls-port-plain-http", R(), "400 close", wire="plain")
    case("tls-port-plain-http10-keep-alive",
         R(version="HTTP/1.0", headers=["Connection: keep-alive"]),
         "400 close", wire="plain")
    case("tls-port-plain-pipelined", [R(), R("/style.css")], "400 close",
         wire="plain")
    # one request in two TLS records (a write each, a pause between)
    case("tls-split-records", R(), "200 keep",
         chunks=[R()[:9], R()[9:]])
    case("tls-split-records-last-crlf", R(), "200 keep",
         chunks=[R()[:-2], R()[-2:]])
    case("tls-split-records-head", R(method="HEAD"), "200 keep",
         chunks=[R(method="HEAD")[:20], R(method="HEAD")[20:]])
    case("tls-byte-records", R(), "200 keep",
         chunks=[bytes([b]) for b in R()], gap=0.002)
    two = R() + R("/style.css")
    case("tls-pipelined-across-records", [R(), R("/style.css")],
         "200 200 keep", chunks=[two[:40], two[40:]])
    # a body in several records (over 16 KiB), discarded
    big_body = b"x" * 20000
    case("tls-body-20000", [R(headers=[cl(20000)], body=big_body),
                            R("/style.css")], "200 200 keep")
    case("tls-body-20000-later", [R(headers=[cl(20000)], body=big_body),
                                  R("/style.css")], "200 200 keep",
         chunks=[R(headers=[cl(20000)]) + big_body[:100],
                 big_body[100:] + R("/style.css")])
    case("tls-chunked-20000", [R(headers=[te], body=b"4e20\r\n" + big_body +
                                     b"\r\n0\r\n\r\n"), R("/style.css")],
         "200 200 keep")
    # HTTP/1.0 keep-alive and Connection: close as on the plain port
    k10 = R(version="HTTP/1.0", headers=["Connection: keep-alive"])
    case("tls-http10-keep-alive-then-close",
         [k10, R(headers=["Connection: close"])], "200 200 close")
    case("tls-http10-keep-alive-then-http10", [k10, R(version="HTTP/1.0")],
         "200 200 close")
    case("tls-http10-keep-alive-split", k10, "200 keep",
         chunks=[k10[:30], k10[30:]])
    case("tls-close-split", R(headers=["Connection: close"]), "200 close",
         chunks=[R(headers=["Connection: close"])[:25],
                 R(headers=["Connection: close"])[25:]])
    # the same over TLS 1.2 (every other case is TLS 1.3)
    case("tls12-get", R(), "200 keep", wire="tls1.2")
    case("tls12-big-file", R("/big.bin"), "200 keep", wire="tls1.2")
    case("tls12-split-records", R(), "200 keep", chunks=[R()[:9], R()[9:]],
         wire="tls1.2")
    case("tls12-pipelined", [R(), R("/missing"), R("/big.bin", headers=[
        "Range: bytes=10-20"])], "200 404 206 keep", wire="tls1.2")
    case("tls12-http10-close", R(version="HTTP/1.0"), "200 close",
         wire="tls1.2")


# ---- reading responses ----------------------------------------------------

class Framing(Exception):
    pass


class Resp:
    def __init__(self):
        self.status = None      # None: an HTTP/0.9 answer (no status line)
        self.status_line = b""
        self.headers = []       # [(name, value)] as received
        self.body = b""
        self.problems = []

    def values(self, name):
        return [v for n, v in self.headers if n.lower() == name]

    def get(self, name):
        v = self.values(name)
        return v[0] if v else None

    def says_close(self):
        tokens = ",".join(self.values("connection")).lower().split(",")
        return "close" in [t.strip() for t in tokens]


class Conn:
    """A connection to port, through TLS if ctx (an ssl.SSLContext: the
    handshake is done once constructed, and every send is a TLS record, or
    several past 16 KiB)."""

    def __init__(self, port, prime=False, ctx=None):
        sock = socket.create_connection((HOST, port), TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(TIMEOUT)
        if ctx is not None:
            try:
                # the end of the stream without close_notify raises
                # SSLEOFError: counted in self.ragged
                sock = ctx.wrap_socket(sock, suppress_ragged_eofs=False)
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        self.tls = ctx is not None
        self.buf = b""
        self.eof = False
        self.reset = False
        self.ragged = False     # TLS ended without close_notify
        self.tls_error = None   # TLS ended by an error (an alert...)
        if prime:
            # fileserver answers a connection's first request itself and
            # joins the kernel path after it: prime it, so that the
            # case's requests are the kernel's to answer
            self.send(PRIMER)
            if not self.read(False):
                raise RuntimeError("no answer to the primer")

    def close(self):
        self.sock.close()

    def half_close(self):
        """Tells the server we are done sending: a FIN (through TLS without
        close_notify: SSLSocket.shutdown would drop the TLS layer, and what
        the server still sends could not be read)."""
        socket.socket.shutdown(self.sock, socket.SHUT_WR)

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:         # the server may close while we send
            return False

    def fill(self):
        """More bytes; False at the end of the stream. Raises
        socket.timeout if nothing comes."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
            self.reset = True
        except ssl.SSLEOFError:
            chunk = b""
            self.ragged = True
        except ssl.SSLError as e:
            chunk = b""
            self.tls_error = str(e)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def take(self, n):
        while len(self.buf) < n:
            if not self.fill():
                raise Framing("closed %d bytes into a %d-byte body" %
                              (len(self.buf), n))
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read(self, head_only):
        """The next response, or None at a clean end of stream."""
        while len(self.buf) < 5 and self.fill():
            pass
        if not self.buf:
            return None
        r = Resp()
        if not self.buf.startswith(b"HTTP/"):
            while self.fill():
                pass
            r.body, self.buf = self.buf, b""
            return r
        while b"\r\n\r\n" not in self.buf:
            if not self.fill():
                raise Framing("closed inside a response head: %r" %
                              self.buf[:80])
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        r.status_line = lines[0]
        m = re.match(rb"HTTP/1\.1 ([1-9]\d\d) [\x20-\x7e]*$", lines[0])
        if not m:
            raise Framing("bad status line %r" % lines[0])
        r.status = int(m.group(1))
        for line in lines[1:]:
            m = re.match(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$",
                         line)
            if not m or b"\n" in line or b"\r" in line:
                raise Framing("bad header line %r" % line)
            r.headers.append((m.group(1).decode("latin-1"),
                              m.group(2).decode("latin-1")))
        lengths = r.values("content-length")
        te = r.get("transfer-encoding")
        if 100 <= r.status < 200 or r.status in (204, 304) or head_only:
            length = 0
        elif te is not None:
            if lengths:
                r.problems.append("Transfer-Encoding and Content-Length")
            if te.lower() != "chunked":
                raise Framing("Transfer-Encoding %r" % te)
            r.body = self.read_chunked()
            length = None
        elif lengths:
            if len(lengths) > 1:
                r.problems.append("%d Content-Length fields" % len(lengths))
            if not re.match(r"\d+$", lengths[0]):
                raise Framing("Content-Length %r" % lengths[0])
            length = int(lengths[0])
        else:
            r.problems.append("no Content-Length: body delimited by close")
            while self.fill():
                pass
            r.body, self.buf = self.buf, b""
            length = None
        if length is not None:
            r.body = self.take(length)
        self.check(r, head_only)
        return r

    def read_chunked(self):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                if not self.fill():
                    raise Framing("closed inside chunked body")
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while not self.buf.startswith(b"\r\n"):
                    if b"\r\n" in self.buf:     # trailer field
                        self.buf = self.buf.split(b"\r\n", 1)[1]
                    elif not self.fill():
                        raise Framing("closed inside trailer")
                self.buf = self.buf[2:]
                return body
            body += self.take(size)
            if self.take(2) != b"\r\n":
                raise Framing("chunk without CRLF")

    @staticmethod
    def check(r, head_only):
        """What RFC 9110/9112 require of every response we parse."""
        s = r.status
        if 200 <= s < 500 and len(r.values("date")) != 1:
            r.problems.append("%d Date fields" % len(r.values("date")))
        if 200 <= s < 300 and s != 204 and not r.values("content-length") \
                and not r.values("transfer-encoding"):
            r.problems.append("2xx without Content-Length")
        if s == 206 and "multipart" not in (r.get("content-type") or ""):
            m = re.match(r"bytes (\d+)-(\d+)/(\d+)$",
                         r.get("content-range") or "")
            if not m:
                r.problems.append("206 Content-Range %r" %
                                  r.get("content-range"))
            elif int(r.get("content-length") or -1) != \
                    int(m.group(2)) - int(m.group(1)) + 1:
                r.problems.append("206 Content-Length disagrees with "
                                  "Content-Range")
        if s == 416 and not re.match(r"bytes \*/\d+$",
                                     r.get("content-range") or ""):
            r.problems.append("416 without Content-Range bytes */size")
        if s in (301, 302, 307, 308) and not r.get("location"):
            r.problems.append("redirect without Location")


class Outcome:
    """What one server did with one case."""

    def __init__(self):
        self.resps = []
        self.state = None        # keep, close, timeout, garbage
        self.problems = []
        self.khits = None
        self.kstats = None
        self.reset = False
        self.ragged = False

    def summary(self):
        toks = ["0.9" if r.status is None else str(r.status)
                for r in self.resps]
        return " ".join(toks + [self.state])

    def exact(self):
        """For kernel vs user: everything but Date."""
        return ([(r.status_line, [(n, v) for n, v in r.headers
                                  if n.lower() != "date"], r.body)
                 for r in self.resps], self.state)


def connect(srv, wire=None):
    """A new connection to srv (a server, or its TLS port: TLSPort); wire:
    as in case()."""
    if srv.ctx is None:
        return Conn(srv.port, prime=srv.kernel)
    if wire == "plain":
        return Conn(srv.port)
    return Conn(srv.port, ctx=srv.ctx12 if wire == "tls1.2" else srv.ctx)


def run_exchange(srv, chunks, gap, methods, wire=None):
    """Sends chunks (gap seconds apart) on a new connection, reads a
    response per method, then settles the connection."""
    conn = connect(srv, wire)
    out = Outcome()
    try:
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(gap)
            if not conn.send(srv.subst(chunk)):
                break
        finals = 0
        last = None
        while finals < len(methods):
            try:
                r = conn.read(methods[finals] == b"HEAD")
            except socket.timeout:
                out.state = "timeout"
                break
            except Framing as e:
                out.problems.append(str(e))
                out.state = "garbage"
                break
            if r is None:
                break
            out.resps.append(r)
            out.problems += ["response %d: %s" % (len(out.resps), p)
                             for p in r.problems]
            if r.status is None:
                break
            if r.status >= 200:
                finals += 1
                last = r
        if out.state is None:
            out.state = settle(conn, last, out.problems)
        out.reset = conn.reset
        out.ragged = conn.ragged
        if conn.tls_error:
            out.problems.append("TLS error: " + conn.tls_error)
    finally:
        conn.close()
    return out


def settle(conn, last, problems):
    """After the last response: is the connection closed, as the response
    says, or still usable, with nothing stray in it?"""
    if not conn.eof and (last is None or last.says_close()):
        try:
            conn.sock.settimeout(CLOSE_WAIT)
            while conn.fill():
                pass
        except socket.timeout:
            # still open: a server may keep reading until the client is
            # done (RFC 9112 9.6). Say we are, and see it close then.
            conn.sock.settimeout(TIMEOUT)
            try:
                conn.half_close()
                while conn.fill():
                    pass
            except socket.timeout:
                problems.append("response says close, connection stays "
                                "open")
                return "timeout"
            return "close-after-fin"
    if conn.eof:
        if conn.buf:
            problems.append("%d stray bytes before close: %r" %
                            (len(conn.buf), conn.buf[:60]))
        if last is not None and not last.says_close() and \
                last.status is not None:
            problems.append("closed after a response without "
                            "Connection: close")
        return "close"
    if conn.buf:
        problems.append("%d stray bytes after the last response: %r" %
                        (len(conn.buf), conn.buf[:60]))
        return "garbage"
    if not conn.send(PROBE):
        problems.append("connection unusable after keep-alive response")
        return "close"
    try:
        r = conn.read(False)
    except (socket.timeout, Framing) as e:
        problems.append("probe after the last response: %s" % e)
        return "timeout"
    if r is None:
        problems.append("closed after a keep-alive response (probe)")
        return "close"
    if r.status != 200 or r.body != FILES[b"/a.txt"]:
        problems.append("probe answered %s" % r.status)
        return "garbage"
    return "keep"


# ---- servers ----------------------------------------------------------------

# The fallback phase: a single-page app's fallback, fileserver's --fallback
# and nginx's try_files, on servers of their own (it turns every 404 into a
# 200); cases in FALLBACK_CASES.
FALLBACK_ARGS = ("--fallback", "/index.html")
FALLBACK_NGINX = "try_files $uri $uri/ /index.html;"


def two_ports():
    """Two free ports: the plain one, the TLS one."""
    port, tls_port = free_port(), free_port()
    while tls_port == port:
        tls_port = free_port()
    return port, tls_port


class FileServer:
    ctx = None      # plain HTTP (see TLSPort)

    def __init__(self, name, binary, docroot, kernel, extra=(), tls=None):
        """tls: a TestCert, to listen for HTTPS too (on self.tls_port)."""
        self.name = name
        self.kernel = kernel
        port, self.tls_port = two_ports() if tls else (None, None)
        self.server = Server(binary, docroot, kernel, extra=[
            a for rule in CACHE_CONTROL for a in ("--cache-control", rule)] +
            ["--precompressed", "br,gzip", "--error-page", "404=/404.html"] +
            (["--tls-port", str(self.tls_port), "--tls-cert", tls.cert,
              "--tls-key", tls.key] if tls else []) +
            list(extra), port=port)
        self.port = self.server.port
        self.vars = {}

    def subst(self, data):
        for k, v in self.vars.items():
            data = data.replace(k, v)
        return data

    def kernel_hits(self):
        return self.server.stats()["kernel_hits"]

    def alive(self):
        return self.server.alive()

    def stop(self):
        self.server.stop()


class Nginx(Process, FileServer):
    def __init__(self, docroot, tmp, extra="", tls=None):
        self.name = "nginx"
        self.kernel = False
        self.vars = {}
        self.port, self.tls_port = two_ports()
        self.prefix = os.path.join(tmp, "nginx" + ("-extra" if extra else ""))
        os.makedirs(self.prefix, exist_ok=True)   # a retry without TLS
        with open(os.path.join(HERE, "nginx.conf.in")) as f:
            conf = f.read()
        # @TLS@ starts the lines of the HTTPS listener: "# " without one
        for k, v in (("@PREFIX@", self.prefix), ("@PORT@", str(self.port)),
                     ("@HOST@", URL_HOST), ("@DOCROOT@", docroot),
                     ("@EXTRA@", extra), ("@TLS@", "" if tls else "# "),
                     ("@TLSPORT@", str(self.tls_port)),
                     ("@TLSCERT@", tls.cert if tls else "none"),
                     ("@TLSKEY@", tls.key if tls else "none")):
            conf = conf.replace(k, v)
        if not tls:
            self.tls_port = None
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.prefix, "-c", self.conf,
             "-e", os.path.join(self.prefix, "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + self.proc.stderr.read())
            try:
                socket.create_connection((HOST, self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start")


class TestCert:
    """A self-signed EC P-256 certificate for HOST (CN and SAN), made once
    per run by the openssl CLI in directory d: cert and key, PEM files."""

    def __init__(self, d):
        os.makedirs(d)
        os.chmod(d, 0o755)
        self.cert = os.path.join(d, "cert.pem")
        self.key = os.path.join(d, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key,
             "-out", self.cert, "-days", "2", "-subj", "/CN=" + HOST,
             "-addext", "subjectAltName=IP:" + HOST],
            check=True, capture_output=True, timeout=30)
        # fileserver, as nobody, reads them again on SIGHUP
        for f in (self.cert, self.key):
            os.chmod(f, 0o644)

    def context(self, maximum=None):
        """A client context that trusts the certificate (no host name
        check: no SNI is sent) and offers ALPN http/1.1; maximum: the
        highest TLS version it offers."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(self.cert)
        ctx.set_alpn_protocols(["http/1.1"])
        if maximum:
            ctx.maximum_version = maximum
        return ctx


class TLSPort:
    """srv's HTTPS listener as the checks see a server: the same name,
    kernel flag and stats map; its own ETag values, from warm_up over TLS.
    Cases connect through ctx (TLS 1.3), ctx12 (TLS 1.2 at most) or without
    TLS (case wire)."""

    def __init__(self, srv, cert):
        self.srv = srv
        self.name = srv.name
        self.kernel = srv.kernel
        self.port = srv.tls_port
        self.server = getattr(srv, "server", None)
        self.ctx = cert.context()
        self.ctx12 = cert.context(ssl.TLSVersion.TLSv1_2)
        self.vars = {}

    subst = FileServer.subst

    def kernel_hits(self):
        return self.srv.kernel_hits()

    def alive(self):
        return self.srv.alive()


def make_docroot(tmp):
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    os.chmod(tmp, 0o755)
    os.chmod(root, 0o755)
    for path, data in FILES.items():
        full = root.encode() + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    # one mtime for all, an hour ago
    mtime = int(time.time()) - 3600
    for dirpath, dirs, files in os.walk(root.encode()):
        for name in files:
            os.utime(os.path.join(dirpath, name), (mtime, mtime))
    return root, mtime


def http_dates(mtime):
    fmt = lambda t: time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))
    g = time.gmtime(mtime)
    return {
        "lm": fmt(mtime),
        "lm_later": fmt(mtime + 60),
        "lm_earlier": fmt(mtime - 60),
        "lm_rfc850": time.strftime("%A, %d-%b-%y %H:%M:%S GMT", g),
        "lm_asctime": time.strftime("%a %b ", g) + "%2d" % g.tm_mday +
        time.strftime(" %H:%M:%S %Y", g),
    }


def warm_up(srv):
    """Each server's ETag for /big.bin and for /gz.css's gzip variant; every
    file requested twice, so that fileserver's cache has admitted all of
    them before the cases run. Over TLS (srv a TLSPort), also that the
    cases will run on TLS 1.3 and that ALPN chose http/1.1."""
    conn = Conn(srv.port, ctx=srv.ctx)
    try:
        got = conn.tls and (conn.sock.version(),
                            conn.sock.selected_alpn_protocol())
        if got and got != ("TLSv1.3", "http/1.1"):
            raise RuntimeError("%s: TLS port: %s, ALPN %r; expected TLSv1.3,"
                               " http/1.1" % ((srv.name,) + got))
        for path in sorted(FILES) + [b"/", b"/dir/"]:
            if path.startswith(b"/noindex") or b" " in path or b"%" in path:
                continue
            for _ in range(2):
                conn.send(b"GET " + path + b" HTTP/1.1\r\nHost: w\r\n\r\n")
                r = conn.read(False)
                if r is None or r.status != 200:
                    raise RuntimeError("%s: warm-up GET %s: %s" %
                                       (srv.name, path, r and r.status))
                if path == b"/big.bin":
                    srv.vars[b"@ETAG@"] = r.get("etag").encode()
        conn.send(b"GET /gz.css HTTP/1.1\r\nHost: w\r\n"
                  b"Accept-Encoding: gzip\r\n\r\n")
        r = conn.read(False)
        if r is None or r.get("content-encoding") != "gzip":
            raise RuntimeError("%s: warm-up GET /gz.css, gzip: %s" %
                               (srv.name, r and r.status))
        srv.vars[b"@GZETAG@"] = r.get("etag").encode()
    finally:
        conn.close()
    time.sleep(0.2)


# ---- checks -----------------------------------------------------------------

KEY_HEADERS = ("content-type", "content-range", "allow", "location",
               "cache-control", "content-encoding", "vary")
# statuses both servers answer with a page of the docroot (--error-page,
# error_page): their type, length and bytes are compared as a 2xx's
CUSTOM_PAGES = (404,)
# --cache-control rules, the same as nginx.conf.in's add_header locations
CACHE_CONTROL = ("/dir/=public, max-age=60", "*.css=no-cache")


def difference(name, tls):
    """The DIFFERENCES entry of case name, in the HTTPS phase if tls
    (TLS_DIFFERENCES first)."""
    if tls and name in TLS_DIFFERENCES:
        return TLS_DIFFERENCES[name]
    return DIFFERENCES.get(name)


def compare_nginx(c, fs, ng, failures, tls=False):
    d = difference(c.name, tls)
    hdiff = d.headers if d else {}
    fr = [r for r in fs.resps if r.status is None or r.status >= 200]
    nr = [r for r in ng.resps if r.status is None or r.status >= 200]
    # a header difference in the table: wherever the two differ, they must
    # differ as the table says, and they must differ somewhere
    for name, want in hdiff.items():
        seen = False
        for i, (a, b) in enumerate(zip(fr, nr)):
            got = tuple(r.get(name) and (r.get(name).split(";")[0]
                                          if name == "content-type"
                                          else r.get(name)) for r in (a, b))
            if got[0] == got[1]:
                continue
            seen = True
            if got != want:
                failures.append("fileserver/nginx: response %d: %s: "
                                "fileserver %r, nginx %r;"
                                " table says %r, %r" % ((i + 1, name) + got +
                                                        want))
        if not seen:
            failures.append("fileserver/nginx: %s: no longer differs as "
                            "the table says "
                            "(%r, %r)" % ((name,) + want))
    if d:
        return
    for i, (a, b) in enumerate(zip(fr, nr)):
        if a.status != b.status or a.status is None:
            continue
        tag = "fileserver/nginx: response %d: " % (i + 1)
        for h in KEY_HEADERS:
            if h == "content-type" and not (200 <= a.status < 300 or
                                            a.status in CUSTOM_PAGES):
                continue
            if h in hdiff:
                continue
            if a.get(h) != b.get(h):
                failures.append(tag + "%s: fileserver %r, nginx %r" %
                                (h, a.get(h), b.get(h)))
        if 200 <= a.status < 300 or a.status in CUSTOM_PAGES:
            if a.get("content-length") != b.get("content-length"):
                failures.append(tag + "Content-Length: fileserver %r, "
                                "nginx %r" % (a.get("content-length"),
                                              b.get("content-length")))
            if a.body != b.body:
                failures.append(tag + "bodies differ (%d vs %d bytes)" %
                                (len(a.body), len(b.body)))


def show(name, out):
    for r in out.resps:
        print("       %s< %s" % (name, r.status_line.decode("latin-1")
                                 if r.status is not None else "(0.9) %r"
                                 % r.body[:40]))
        for n, v in r.headers:
            print("       %s<   %s: %s" % (name, n, v))
    print("       %s< [%s]" % (name, out.state))


def run_cases(servers, cases, verbose, show_heads=False, tls=False,
              plain=None):
    """Runs the cases on every server (on their TLS ports if tls: then
    named "tls:CASE", and no kernel hits are expected); returns {case:
    [failures]}. plain: {(case, server): what it answered over plain HTTP,
    Date aside}, filled in by the plain phase, checked against by the
    HTTPS phase for fileserver."""
    failures = collections.OrderedDict()
    table = []
    prefix = "tls:" if tls else ""
    for c in cases:
        outs = {}
        fails = []
        for srv in servers:
            if srv.kernel:
                before = srv.server.stats()
            outs[srv.name] = out = run_exchange(srv, c.chunks, c.gap,
                                                c.methods, c.wire)
            if srv.kernel:
                # read after the probe, which userspace answers
                after = srv.server.stats()
                out.khits = after["kernel_hits"] - before["kernel_hits"]
                out.kstats = {k: after[k] - before[k] for k in after
                              if after[k] != before[k]}
                if out.state == "timeout" and any(
                        "probe" in p for p in out.problems):
                    fails.append("kernel: the probe stalled: see "
                                 "stall-after-userspace-first")
            d = difference(c.name, tls)
            for p in out.problems:
                if srv.name == "nginx" and d and d.nginx_framing and \
                        d.nginx_framing in p:
                    continue
                fails.append("%s: framing: %s" % (srv.name, p))
            if not srv.alive():
                fails.append("%s: server died" % srv.name)
        d = difference(c.name, tls)
        want_fs = c.expect
        want_ng = d.nginx if d else c.expect
        if d and d.fileserver != c.expect:
            fails.append("table: DIFFERENCES says fileserver %r, case says %r" %
                         (d.fileserver, c.expect))
        for name, out in outs.items():
            want = want_ng if name == "nginx" else want_fs
            if out.summary() != want:
                fails.append("%s: got %r, expected %r" %
                             (name, out.summary(), want))
        if "kernel" in outs and "user" in outs:
            if outs["kernel"].exact() != outs["user"].exact():
                fails.append("kernel/user: differ: %s" %
                             describe_exact_diff(outs["kernel"],
                                                 outs["user"]))
            kh = outs["kernel"].khits
            k = 0 if tls else c.k
            lo, hi = k if isinstance(k, tuple) else (k, k)
            if k is not None and not lo <= kh <= hi:
                fails.append("kernel: %d kernel hits, expected %s (stats "
                             "map moved: %s)" % (
                                 kh, lo if lo == hi else "%d to %d" % (lo, hi),
                                 outs["kernel"].kstats))
        if plain is not None:
            for name, out in outs.items():
                if name == "nginx":
                    continue
                if not tls:
                    plain[c.name, name] = out
                elif (c.name, name) in plain and \
                        out.exact() != plain[c.name, name].exact():
                    fails.append("%s: plain/tls: differ: %s" % (
                        name, describe_exact_diff(plain[c.name, name], out)))
        fs = outs.get("user") or outs.get("kernel")
        if fs and "nginx" in outs:
            compare_nginx(c, fs, outs["nginx"], fails, tls)
        table.append((c, outs))
        line = "%-40s %s" % (prefix + c.name, "  ".join(
            "%s=%s%s" % (n, o.summary(),
                         "" if o.khits is None else "(k%d)" % o.khits)
            for n, o in outs.items()))
        if fails:
            failures[prefix + c.name] = fails
            print("FAIL " + line)
            for f in fails:
                print("       " + f)
        elif verbose:
            print("ok   " + line)
        if show_heads:
            for n, o in outs.items():
                show(n, o)
    resets = collections.Counter(n for c, outs in table
                                 for n, o in outs.items() if o.reset)
    if resets:
        print("note: %sconnections ended by RST rather than FIN: %s" %
              ("TLS " if tls else "",
               ", ".join("%s %d" % kv for kv in sorted(resets.items()))))
    ragged = collections.Counter(n for c, outs in table
                                 for n, o in outs.items() if o.ragged)
    if ragged:
        print("note: TLS connections ended without close_notify: %s" %
              ", ".join("%s %d" % kv for kv in sorted(ragged.items())))
    return failures


def describe_exact_diff(k, u):
    ke, ue = k.exact(), u.exact()
    if ke[1] != ue[1]:
        return "state %s vs %s" % (ke[1], ue[1])
    if len(ke[0]) != len(ue[0]):
        return "%d vs %d responses" % (len(ke[0]), len(ue[0]))
    for i, (a, b) in enumerate(zip(ke[0], ue[0])):
        if a != b:
            if a[0] != b[0]:
                return "response %d: %r vs %r" % (i + 1, a[0], b[0])
            if a[1] != b[1]:
                return "response %d headers: %r vs %r" % (i + 1, a[1], b[1])
            return "response %d bodies differ (%d vs %d bytes)" % (
                i + 1, len(a[2]), len(b[2]))
    return "?"


def split_checks(servers, verbose, tls=False):
    """One request written in two pieces, split at every offset: the
    response must be the same every time (Date aside), on a new connection
    each time and on one kept-alive connection. tls: on the TLS ports (a
    piece is a TLS record; no kernel hits)."""
    failures = collections.OrderedDict()
    requests = [
        ("split-kernel-get",
         R("/style.css", headers=["User-Agent: split"]), True),
        ("split-user-get",
         R("/a%2etxt", headers=["Range: bytes=1-5"]), False),
    ]
    for name, raw, cacheable in requests:
        name = ("tls:" if tls else "") + name
        cacheable = cacheable and not tls
        fails = []
        for srv in servers:
            ref = run_exchange(srv, [raw], 0, [b"GET"])
            want = ref.exact()[0]
            if ref.state != "keep" or ref.problems:
                fails.append("%s: reference %s %s" % (srv.name,
                                                      ref.summary(),
                                                      ref.problems))
                continue
            k0 = srv.kernel_hits() if srv.kernel else 0
            bad = []
            for i in range(1, len(raw)):
                out = run_exchange(srv, [raw[:i], raw[i:]], SPLIT_GAP,
                                   [b"GET"])
                if out.exact()[0] != want or out.state != "keep":
                    bad.append("offset %d (new connection): %s" %
                               (i, out.summary()))
            conn = connect(srv)
            try:
                for i in range(1, len(raw)):
                    conn.send(raw[:i])
                    time.sleep(SPLIT_GAP)
                    conn.send(raw[i:])
                    try:
                        r = conn.read(False)
                    except (socket.timeout, Framing) as e:
                        bad.append("offset %d (kept-alive): %s" % (i, e))
                        break
                    if r is None or ([(r.status_line,
                                       [(n, v) for n, v in r.headers
                                        if n.lower() != "date"],
                                       r.body)] != want):
                        bad.append("offset %d (kept-alive): %s" %
                                   (i, r and r.status_line))
                        if r is None:
                            break
            finally:
                conn.close()
            n = len(raw) - 1
            if srv.kernel:
                st = srv.server.stats()
                hits = st["kernel_hits"] - k0
                expect = 2 * n if cacheable else 0
                if hits != expect:
                    fails.append("%s: %d kernel hits, expected %d" %
                                 (srv.name, hits, expect))
                if st["split_requests"]:
                    fails.append("%s: stats split_requests = %d (should "
                                 "stay 0)" % (srv.name,
                                              st["split_requests"]))
            for b in bad[:5]:
                fails.append("%s: %s" % (srv.name, b))
            if len(bad) > 5:
                fails.append("%s: ... %d splits wrong in all" %
                             (srv.name, len(bad)))
            if not srv.alive():
                fails.append("%s: server died" % srv.name)
        line = "%-40s %d splits x 2 per server" % (name, len(raw) - 1)
        if fails:
            failures[name] = fails
            print("FAIL " + line)
            for f in fails:
                print("       " + f)
        elif verbose:
            print("ok   " + line)
    return failures


def stall_check(servers, verbose):
    """A new connection whose first request userspace answers (404), then
    at once a second request no longer than the first: in kernel mode the
    second was sometimes never answered, so try it often. The first
    request goes in one write, or in two back to back, cut at each offset
    in turn. While the kernel still handed such requests to userspace with
    SK_PASS, a stream-parser run that found nothing new made TCP count one
    read twice, and 0.4-0.9 % of these tries stalled. Stops at the third
    stall."""
    name = "stall-after-userspace-first"
    first = b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"     # 35 bytes
    second = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"      # 33 bytes
    fails = []
    for srv in servers:
        tries = 500 if srv.kernel else 50
        stalls = []
        for i in range(tries):
            conn = Conn(srv.port, prime=srv.kernel)
            cut = i % len(first)
            try:
                if cut:
                    conn.send(first[:cut])
                conn.send(first[cut:])
                r = conn.read(False)
                if r is None or r.status != 404:
                    stalls.append("try %d: first answered %s" %
                                  (i, r and r.status))
                    continue
                conn.send(second)
                conn.sock.settimeout(STALL_WAIT)
                try:
                    r = conn.read(False)
                except socket.timeout:
                    r = "no answer in %g s" % STALL_WAIT
                if not isinstance(r, Resp) or r.status != 200:
                    stalls.append("try %d (cut at %d): second: %s" %
                                  (i, cut, r))
            finally:
                conn.close()
            if len(stalls) >= 3:
                break
        if stalls:
            fails.append("%s: %d stalls in %d tries (%s)" %
                         (srv.name, len(stalls), i + 1, "; ".join(stalls)))
    line = "%-40s 500 tries in kernel mode, 50 elsewhere" % name
    if fails:
        print("FAIL " + line)
        for f in fails:
            print("       " + f)
        return {name: fails}
    if verbose:
        print("ok   " + line)
    return {}


def direct_pass_check(servers):
    """Every request userspace answered in kernel mode reached it through
    the socket's backlog, none with SK_PASS (see stall_check)."""
    name = "no-direct-pass"
    for srv in servers:
        if srv.kernel and srv.alive():
            if any("passed directly" in l for l in srv.server.log):
                print("SKIP: %s: this kernel needs SK_PASS (see the "
                      "server's log)" % name)
                continue
            st = srv.server.stats()
            if st["user_direct"]:
                print("FAIL %s: %d of %d userspace requests passed with "
                      "SK_PASS" % (name, st["user_direct"],
                                   st["user_requests"]))
                return {name: ["kernel: user_direct = %d" %
                               st["user_direct"]]}
    return {}


def blame(msg):
    """Which servers a failure message counts against."""
    scope = msg.split(":", 1)[0]
    return {"kernel": ["kernel"], "user": ["user"], "nginx": ["nginx"],
            "kernel/user": ["kernel"], "fileserver/nginx": ["nginx"],
            "table": ["kernel", "user", "nginx"]}.get(scope, [])


def summary(servers, cases, failures, elapsed, tls_cases, tls_names):
    """elapsed: the seconds of each phase; tls_cases: the cases of the
    HTTPS phase, run on the servers named tls_names."""
    names = [s.name for s in servers]
    print()
    print("%d cases + split and stall checks on %s in %.1f s" %
          (len(cases), ", ".join(names), elapsed[0]))
    if tls_names:
        print("%d cases + split checks over HTTPS on %s in %.1f s" %
              (len(tls_cases), ", ".join(tls_names), elapsed[1]))
    for n in names:
        bad = [c for c in failures
               if any(n in blame(m) for m in failures[c])]
        over_tls = ""
        if n in tls_names:
            over_tls = ", %d of %d over HTTPS" % (len(
                [c for c in bad if c in set("tls:" + x.name
                                            for x in tls_cases)]),
                len(tls_cases))
        print("  %-7s %d of %d cases failed%s%s" % (
            n, len([c for c in bad if c in set(x.name for x in cases)]),
            len(cases), over_tls, "" if not bad else ": " + " ".join(bad)))
    stalls = [n for n, msgs in failures.items()
              if any("probe stalled" in m or "stall" in n for m in msgs)]
    if stalls:
        print("  kernel-mode stalls (see stall-after-userspace-first): "
              + " ".join(stalls))
    other = [n for n in failures if n not in stalls]
    print("  other failures: %d %s" % (len(other), " ".join(other)))


def fallback_phase(servers, args, root, tmp, cases, cert):
    """The fallback cases, on servers like those of the main run but with
    --fallback and nginx's try_files, over plain HTTP and, on the servers
    that have a TLS port, over HTTPS. Returns their failures."""
    fb = []
    try:
        for srv in servers:
            tls = cert if srv.tls_port else None
            if srv.name == "nginx":
                fb.append(Nginx(root, tmp, FALLBACK_NGINX, tls))
            else:
                fb.append(FileServer(srv.name, args.fileserver, root,
                                     srv.kernel, FALLBACK_ARGS, tls))
        for srv in fb:
            warm_up(srv)
        plain = {}
        failures = run_cases(fb, cases, args.verbose, args.show,
                             plain=plain)
        tls = [TLSPort(s, cert) for s in fb if s.tls_port]
        if tls:
            failures.update(tls_warm_up(tls))
            failures.update(run_cases(tls, cases, args.verbose, args.show,
                                      tls=True, plain=plain))
        print("fallback phase: %d cases%s, %d failed" %
              (len(cases), " (and over HTTPS)" if tls else "",
               len(failures)))
        return failures
    finally:
        for srv in fb:
            srv.stop()


def tls_warm_up(views):
    """warm_up through each TLSPort of views, whose ETags must be those of
    the plain port; one whose TLS port fails is failed and left out of
    views. Returns the failures."""
    failures = collections.OrderedDict()
    for v in list(views):
        try:
            warm_up(v)
            if v.vars == v.srv.vars:
                continue
            fails = ["%s: plain/tls: ETags differ: %r vs %r" %
                     (v.name, v.srv.vars, v.vars)]
        except (RuntimeError, OSError, Framing) as e:
            fails = ["%s: TLS port: %s" % (v.name, e)]
            views.remove(v)
        print("FAIL tls:warm-up-" + v.name)
        for f in fails:
            print("       " + f)
        failures["tls:warm-up-" + v.name] = fails
    return failures


def differences_markdown():
    out = ["| case | fileserver | nginx | why |", "|---|---|---|---|"]
    for name, d in list(DIFFERENCES.items()) + [
            ("%s (HTTPS)" % n, d) for n, d in TLS_DIFFERENCES.items()]:
        extra = "".join("; %s: %s vs %s" % (h, a, b)
                        for h, (a, b) in d.headers.items())
        out.append("| `%s` | %s | %s | %s%s |" % (name, d.fileserver,
                                                  d.nginx, d.why, extra))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fileserver")
    ap.add_argument("--only", help="run the cases whose name has this")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--show", action="store_true",
                    help="print every response head")
    ap.add_argument("--differences-markdown", action="store_true")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="fileserver-conformance-")
    servers = []
    skipped = []
    try:
        root, mtime = make_docroot(tmp)
        env = http_dates(mtime)
        build_cases(env)
        if args.differences_markdown:
            print(differences_markdown())
            return 0
        missing = (set(DIFFERENCES) | set(TLS_DIFFERENCES)) - \
            set(c.name for c in CASES)
        assert not missing, missing
        cases = [c for c in CASES if not args.only or args.only in c.name]

        # the certificate of the HTTPS phase
        cert = None
        if shutil.which("openssl") is None:
            skipped.append("HTTPS phase: the openssl CLI is not installed")
        else:
            try:
                cert = TestCert(os.path.join(tmp, "tls"))
            except (subprocess.SubprocessError, OSError) as e:
                skipped.append("HTTPS phase: openssl could not make a "
                               "certificate: %s %s" %
                               (e, getattr(e, "stderr", "")))

        # the three servers
        why = None
        if os.geteuid() != 0:
            why = "not running as root"
        elif shutil.which("bpftool") is None:
            why = "bpftool not found"
        if why is None:
            k = FileServer("kernel", args.fileserver, root, True, tls=cert)
            if k.server.kernel_on():
                servers.append(k)
            else:
                k.stop()
                why = "the server could not load its BPF programs: " + \
                    " | ".join(k.server.log)
        if why:
            skipped.append("kernel mode (fileserver with the eBPF path): " +
                           why)
        servers.append(FileServer("user", args.fileserver, root, False,
                                  tls=cert))
        if os.access(NGINX, os.X_OK):
            try:
                servers.append(Nginx(root, tmp, tls=cert))
            except RuntimeError as e:
                if cert is None:
                    skipped.append("nginx comparison: %s" % e)
                else:
                    # the plain comparison without the TLS listener
                    try:
                        servers.append(Nginx(root, tmp))
                        skipped.append("nginx comparison over HTTPS: nginx "
                                       "did not start with ssl: %s" %
                                       str(e).strip())
                    except RuntimeError as e:
                        skipped.append("nginx comparison: %s" % e)
        else:
            skipped.append("nginx comparison: %s not installed "
                           "(tools/install-deps.sh --bench)" % NGINX)
            if cert is not None:
                skipped.append("nginx comparison over HTTPS: %s not "
                               "installed" % NGINX)
        for s in skipped:
            print("SKIP: " + s)
        if not servers:
            print("SKIP: nothing could run")
            return SKIP

        for srv in servers:
            warm_up(srv)
        if any(s.kernel for s in servers):
            k = [s for s in servers if s.kernel][0]
            # the first request of a connection may be userspace's (sent
            # before the socket joined the kernel path); the second is not
            conn = Conn(k.port)
            conn.send(b"GET /big.bin HTTP/1.1\r\nHost: w\r\n\r\n")
            conn.read(False)
            before = k.kernel_hits()
            conn.send(b"GET /big.bin HTTP/1.1\r\nHost: w\r\n\r\n")
            conn.read(False)
            conn.close()
            if k.kernel_hits() != before + 1:
                print("FAIL kernel mode: a cached file was not answered by "
                      "the kernel after warm-up")
                return 1

        t0 = time.time()
        fallback = [c for c in cases if c.group == "fallback"]
        # HTTPS: every case but the fallback phase's, and the "tls" ones
        tls_cases = [c for c in cases if c.group != "fallback"]
        cases = [c for c in tls_cases if c.group != "tls"]
        plain = {}
        failures = run_cases(servers, cases, args.verbose, args.show,
                             plain=plain)
        if fallback:
            failures.update(fallback_phase(servers, args, root, tmp,
                                           fallback, cert))
        if not args.only or "split" in args.only:
            failures.update(split_checks(servers, args.verbose))
        if not args.only or "stall" in args.only:
            failures.update(stall_check(servers, args.verbose))

        # the HTTPS phase: the same servers, on their TLS ports
        t1 = time.time()
        tls = [TLSPort(s, cert) for s in servers if s.tls_port]
        if tls:
            failures.update(tls_warm_up(tls))   # may leave some out
        if tls:
            failures.update(run_cases(tls, tls_cases, args.verbose,
                                      args.show, tls=True, plain=plain))
            if not args.only or "split" in args.only:
                failures.update(split_checks(tls, args.verbose, tls=True))
        failures.update(direct_pass_check(servers))
        elapsed = t1 - t0, time.time() - t1

        summary(servers, cases, failures, elapsed, tls_cases,
                [v.name for v in tls])
        for s in skipped:
            print("SKIP: " + s)
        for srv in servers:
            if not srv.alive():
                print("FAIL %s died" % srv.name)
                failures["died"] = True
        return 1 if failures else 0
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
