#pragma once
// A local imitation of the Hugging Face Hub for the tests: the tree API (paginated with a Link
// header), the revision API, /resolve/ answering LFS files with a 302 to a second server (the "CDN",
// another port) that honours Range and can cut a connection once. Its data is `hub.json` in the
// served root, written by the test:
//   {"page_size": 3,
//    "repos": {"org/name": {"branches": {"step1000": "<sha>"},
//                           "commits": {"<sha>": [{"path": …, "size": …, "oid": …, "lfs": {…}?, "blob": "f"}]}}}}
// Entries are listed as written minus "blob" (the file under blobs/ holding the bytes), plus one
// directory entry, as the real listing has. A file `cut-<blob>` makes the CDN send half of the
// requested bytes of that blob once and then close the connection. Every request is appended to
// requests.log as "<server> <path> <Range or -> <query>".
namespace embedlab::test::hub {

inline constexpr const char* kHubServer = R"(import http.server, json, os, socket, sys, urllib.parse
mode, port, root = sys.argv[3], int(sys.argv[1]), sys.argv[2]
cdn = sys.argv[4] if len(sys.argv) > 4 else ''
def log(line):
    with open(os.path.join(root, 'requests.log'), 'a') as f:
        f.write(line + '\n')
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def reply(self, code, body, ctype='application/json', extra=()):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
    def blob(self, name):
        path = os.path.join(root, 'blobs', name)
        if not os.path.isfile(path):
            return self.reply(404, b'no such blob', 'text/plain')
        data = open(path, 'rb').read()
        start, code, extra = 0, 200, []
        rng = self.headers.get('Range')
        if rng:
            start = int(rng.split('=')[1].split('-')[0])
            if start >= len(data):
                return self.reply(416, b'', 'text/plain')
            code = 206
            extra.append(('Content-Range', 'bytes %d-%d/%d' % (start, len(data) - 1, len(data))))
        body = data[start:]
        marker = os.path.join(root, 'cut-' + name)
        if os.path.exists(marker):
            os.remove(marker)
            self.send_response(code)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Content-Length', str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.reply(code, body, 'application/octet-stream', extra)
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        log('%s %s %s %s' % (mode, u.path, self.headers.get('Range', '-'), u.query))
        if mode == 'cdn':
            return self.blob(u.path.split('/')[-1])
        manifest = json.load(open(os.path.join(root, 'hub.json')))
        parts = u.path.strip('/').split('/')
        if parts[:2] == ['api', 'models'] and len(parts) >= 6 and parts[4] in ('tree', 'revision'):
            repo, rev = parts[2] + '/' + parts[3], parts[5]
            r = manifest['repos'].get(repo)
            if r is None:
                return self.reply(404, b'{"error": "Repository not found"}')
            if parts[4] == 'revision':
                sha = r.get('branches', {}).get(rev, rev if rev in r['commits'] else None)
                if sha is None:
                    return self.reply(404, b'{"error": "Revision not found"}')
                return self.reply(200, json.dumps({'id': repo, 'sha': sha}).encode())
            if rev not in r['commits']:
                return self.reply(404, b'{"error": "Revision not found"}')
            tree = [{'type': 'directory', 'oid': '0' * 40, 'size': 0, 'path': 'onnx'}]
            tree += [{k: v for k, v in e.items() if k != 'blob'} | {'type': 'file'} for e in r['commits'][rev]]
            at = int(q.get('cursor', ['0'])[0])
            n = manifest.get('page_size', 1000)
            extra = []
            if at + n < len(tree):
                nxt = 'http://127.0.0.1:%d/api/models/%s/tree/%s?recursive=true&cursor=%d' % (port, repo, rev, at + n)
                extra.append(('Link', '<%s>; rel="next"' % nxt))
            return self.reply(200, json.dumps(tree[at:at + n]).encode(), extra=extra)
        if len(parts) >= 5 and parts[2] == 'resolve':
            repo, rev, path = parts[0] + '/' + parts[1], parts[3], '/'.join(parts[4:])
            r = manifest['repos'].get(repo, {'commits': {}})
            for e in r['commits'].get(rev, []):
                if e['path'] == path:
                    if 'lfs' in e:
                        return self.reply(302, b'', 'text/plain', [('Location', cdn + '/blobs/' + e['blob'])])
                    return self.blob(e['blob'])
            return self.reply(404, b'Entry not found', 'text/plain')
        self.reply(404, b'not found', 'text/plain')
http.server.ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
)";

}  // namespace embedlab::test::hub
