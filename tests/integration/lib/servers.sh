# Sourced by the registry and S3 tests: small helpers around the servers
# they start on 127.0.0.1.
#   free_port             a TCP port nobody listens on now
#   field NAME            the top-level NAME of the JSON object on stdin
#   image_digest FILE     the manifest digest an image tarball's index.json names
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
image_digest() {
	python3 -c 'import json,sys,tarfile; print(json.load(tarfile.open(sys.argv[1]).extractfile("index.json"))["manifests"][0]["digest"])' "$1"
}
