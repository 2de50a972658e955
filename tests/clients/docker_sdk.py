"""The Docker SDK for Python (docker-py, from PyPI) against clementine's Docker API.

Run by tests/api/docker_cli.rs with DOCKER_HOST pointing at the listener and DOCKER_CONFIG at a
directory whose config.json sends the token (docker-py reads HttpHeaders from it, as the CLI
does). Prints "ok" when every step held; any failure raises.
"""
import os

import docker

client = docker.DockerClient(base_url=os.environ["DOCKER_HOST"], version="1.41")
assert client.ping()

# Run to completion and read the output (create, start, wait, logs, remove).
out = client.containers.run("busybox", ["echo", "from-python"], remove=True)
assert out == b"from-python\n", out

# A detached container: listed by the name given, exec into it, inspect, stop, remove.
box = client.containers.run("busybox", ["sleep", "60"], detach=True, name="py1",
                            labels={"suite": "docker-py"})
names = [c.name for c in client.containers.list(filters={"label": "suite=docker-py"})]
assert names == ["py1"], names
code, output = box.exec_run(["sh", "-c", "echo exec-ok; exit 4"])
assert (code, output) == (4, b"exec-ok\n"), (code, output)
box.reload()
assert box.status == "running" and box.name == "py1", (box.status, box.name)
assert not any(k.startswith("clementine.") for k in box.labels), box.labels

volume = client.volumes.create("pyvol", labels={"suite": "docker-py"})
assert [v.name for v in client.volumes.list(filters={"label": "suite=docker-py"})] == ["pyvol"]
network = client.networks.create("pynet")
assert "pynet" in [n.name for n in client.networks.list()]

box.stop(timeout=1)
box.remove()
volume.remove()
network.remove()
try:
    client.containers.get("py1")
    raise AssertionError("py1 is still there")
except docker.errors.NotFound:
    pass
print("ok")
