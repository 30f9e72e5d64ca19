# Sourced by the registry and S3 tests: small helpers around the servers
# they start on 127.0.0.1.
#   free_port             a TCP port nobody listens on now
#   field NAME            the top-level NAME of the JSON object on stdin
#   image_digest FILE     the manifest digest an image tarball's index.json names
#   need_registry         Debian's docker-registry, installed when missing, or a skip
#   start_plain_registry DIR
#                         Debian's docker-registry, no login, on a free port of
#                         127.0.0.1, storing below DIR: sets reg_port and reg_pid
#                         (the caller kills it); 1 when it did not answer
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
image_digest() {
	python3 -c 'import json,sys,tarfile; print(json.load(tarfile.open(sys.argv[1]).extractfile("index.json"))["manifests"][0]["digest"])' "$1"
}
need_registry() {
	command -v docker-registry >/dev/null || "$ROOT/tools/install-test-deps.sh" >/dev/null 2>&1 || true
	command -v docker-registry >/dev/null || skip_all "docker-registry is not installed (make test-deps)"
}
start_plain_registry() {
	reg_port=$(free_port)
	printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
		"$1/storage" "$reg_port" > "$1/registry.yml"
	docker-registry serve "$1/registry.yml" >>"$1/registry.log" 2>&1 &
	reg_pid=$!
	for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$reg_port/v2/" && return 0; sleep 0.1; done
	return 1
}
