//! The Docker Engine API front door, driven by clients nobody here wrote: Debian's `docker` CLI
//! (20.10) against the test bed's engines through clementine. Placement, ownership, the tenant
//! guard and the audit log (`via: docker`) are the same as through `/apiv1`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestApp, engine_ip, test_port};

/// Debian's docker CLI (package docker.io), which the test bed installs.
pub const DOCKER_CLI: &str = "/usr/bin/docker";

/// One caller's docker CLI: its own config directory, whose `config.json` sends the token.
pub struct Cli {
    config: PathBuf,
    host: String,
}

/// What a command printed, and how it ended.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Ran {
    fn of(out: std::process::Output) -> Self {
        Ran {
            code: out.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Cli {
    pub fn new(app: &TestApp, token: &str) -> Self {
        let config = std::env::temp_dir().join(format!("clm-docker-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&config).unwrap();
        let headers = json!({"HttpHeaders": {"Authorization": format!("Bearer {token}")}});
        std::fs::write(config.join("config.json"), headers.to_string()).unwrap();
        Self {
            config,
            host: format!("tcp://{}", app.docker),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(DOCKER_CLI);
        cmd.arg("--config")
            .arg(&self.config)
            .arg("-H")
            .arg(&self.host)
            .args(args);
        cmd.env_remove("DOCKER_HOST").env_remove("DOCKER_CONTEXT");
        cmd
    }

    /// Runs `docker args...` with `stdin`, for at most 60 s.
    pub async fn run_with(&self, args: &[&str], stdin: &str) -> Ran {
        let mut cmd = self.command(args);
        let stdin = stdin.to_string();
        tokio::task::spawn_blocking(move || {
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd
                .spawn()
                .expect("the docker CLI (scripts/testbed.sh installs it)");
            let mut input = child.stdin.take().unwrap();
            let _ = input.write_all(stdin.as_bytes());
            drop(input);
            Ran::of(wait_for(child, Duration::from_secs(60)))
        })
        .await
        .unwrap()
    }

    pub async fn run(&self, args: &[&str]) -> Ran {
        self.run_with(args, "").await
    }

    /// Runs and expects success; answers stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let ran = self.run(args).await;
        assert_eq!(ran.code, 0, "docker {args:?}: {ran:?}");
        ran.out
    }

    /// A command under `script`, so that the CLI has a terminal (`-it`), fed `input`.
    pub async fn in_pty(&self, args: &[&str], input: &str) -> Ran {
        let line = std::iter::once(DOCKER_CLI.to_string())
            .chain([
                "--config".into(),
                self.config.display().to_string(),
                "-H".into(),
                self.host.clone(),
            ])
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env_remove("DOCKER_HOST");
        let input = input.to_string();
        tokio::task::spawn_blocking(move || {
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().expect("script (util-linux)");
            let mut stdin = child.stdin.take().unwrap();
            for line in input.lines() {
                // Typed, not pasted: the shell inside reads after the prompt shows.
                std::thread::sleep(Duration::from_millis(500));
                let _ = stdin.write_all(format!("{line}\n").as_bytes());
            }
            std::thread::sleep(Duration::from_millis(500));
            drop(stdin);
            let mut ran = Ran::of(wait_for(child, Duration::from_secs(60)));
            ran.out = ran.out.replace('\r', "");
            ran
        })
        .await
        .unwrap()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.config);
    }
}

/// Waits for a child, killing it after `limit`.
fn wait_for(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let started = std::time::Instant::now();
    while child.try_wait().ok().flatten().is_none() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

/// A user with engines 1 and 2, and their CLI.
pub async fn tenant(app: &TestApp, name: &str) -> (String, Cli) {
    let (user, token) = app.user(name).await;
    app.grant(&user, &["e1", "e2"]).await;
    (user.clone(), Cli::new(app, &token))
}

pub async fn two_engines() -> TestApp {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    app
}

fn via_docker(events: &[Value], actor: &str, action: &str) -> usize {
    (events.iter())
        .filter(|e| e["actor"] == actor && e["action"] == action && e["via"] == "docker")
        .count()
}

#[tokio::test]
async fn run_publish_list_follow_exec_and_a_terminal() {
    let app = two_engines().await;
    let (ann, cli) = tenant(&app, "ann").await;

    let hi = cli.run(&["run", "--rm", "busybox", "echo", "hi"]).await;
    assert_eq!((hi.code, hi.out.as_str()), (0, "hi\n"), "{hi:?}");

    // Published on the placed engine's own address.
    let port = test_port();
    let publish = format!("{port}:80");
    let web = cli
        .ok(&[
            "run",
            "-d",
            "--name",
            "web",
            "-p",
            &publish,
            "clementine/web",
        ])
        .await;
    let web = web.trim();
    let ports = cli.ok(&["port", web, "80"]).await;
    let engine = [1, 2]
        .into_iter()
        .find(|i| ports.contains(&engine_ip(*i)))
        .expect(&ports);
    assert!(
        ports.contains(&format!("{}:{port}", engine_ip(engine))),
        "{ports}"
    );
    // (The proxy listens at once; httpd in the container a moment later.)
    let url = format!("http://{}:{port}/", engine_ip(engine));
    let mut served = None;
    for _ in 0..50 {
        served = reqwest::get(&url).await.ok().map(|r| r.status());
        if served.is_some_and(|s| s.is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served.is_some_and(|s| s.is_success()), "{url}: {served:?}");

    // The caller's names, never the engine's.
    let listed = cli.ok(&["ps", "--format", "{{.Names}}"]).await;
    assert_eq!(listed.trim(), "web");
    let name = cli.ok(&["inspect", "-f", "{{.Name}}", "web"]).await;
    assert_eq!(name.trim(), "/web");

    // logs -f follows a container that keeps writing.
    let ticker = [
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done",
    ];
    cli.ok(&ticker).await;
    let followed = cli.run(&["logs", "-f", "--tail", "all", "ticker"]);
    let followed = tokio::time::timeout(Duration::from_secs(3), followed).await;
    assert!(followed.is_err(), "logs -f ended by itself: {followed:?}");

    // exec -i pipes stdin and answers the exit code.
    let piped = cli
        .run_with(&["exec", "-i", "ticker", "cat"], "through stdin\n")
        .await;
    assert_eq!(
        (piped.code, piped.out.as_str()),
        (0, "through stdin\n"),
        "{piped:?}"
    );
    let failed = cli
        .run(&[
            "exec",
            "ticker",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ])
        .await;
    assert_eq!(
        (failed.code, failed.out.as_str(), failed.err.as_str()),
        (3, "out\n", "err\n")
    );

    // A session with a terminal.
    let tty = cli
        .in_pty(
            &["run", "-it", "--rm", "busybox", "sh"],
            "echo answer $((6*7))\nexit",
        )
        .await;
    assert!(tty.out.contains("answer 42"), "{tty:?}");

    cli.ok(&["rm", "-f", "web", "ticker"]).await;
    let events = app.all_events().await;
    for action in [
        "container.schedule",
        "container.start",
        "container.exec",
        "container.attach",
        "container.destroy",
    ] {
        assert!(via_docker(&events, &ann, action) > 0, "{action} via docker");
    }
}

#[tokio::test]
async fn another_tenant_sees_no_such_container_and_is_refused_the_host() {
    let app = two_engines().await;
    let (_, ann) = tenant(&app, "ann").await;
    let (bob_name, bob) = tenant(&app, "bob").await;
    let id = ann
        .ok(&["run", "-d", "--name", "secret", "busybox", "sleep", "60"])
        .await;
    let id = id.trim();

    assert_eq!(bob.ok(&["ps", "-aq"]).await.trim(), "");
    for args in [
        vec!["inspect", "--type", "container", id],
        vec!["logs", id],
        vec!["rm", "-f", id],
        vec!["exec", id, "true"],
        vec!["stop", id],
        vec!["inspect", "--type", "container", "secret"],
    ] {
        // (`rm -f` of what does not exist ends well, as with Docker: the message is the test.)
        let ran = bob.run(&args).await;
        assert!(ran.err.contains("No such container"), "{args:?}: {ran:?}");
    }
    assert_eq!(
        ann.ok(&["inspect", "-f", "{{.State.Running}}", "secret"])
            .await
            .trim(),
        "true"
    );

    for (args, says) in [
        (vec!["-v", "/:/host"], "admins only"),
        (vec!["--privileged"], "admins only"),
        (vec!["--network", "host"], "admins only"),
        (vec!["--pid", "host"], "admins only"),
        (
            vec!["--security-opt", "seccomp=unconfined"],
            "HostConfig.SecurityOpt is not supported",
        ),
    ] {
        let mut run = vec!["run", "--rm"];
        run.extend(args.iter().copied());
        run.extend(["busybox", "true"]);
        let ran = bob.run(&run).await;
        assert_ne!(ran.code, 0, "{run:?}");
        assert!(ran.err.contains(says), "{run:?}: {ran:?}");
    }
    let events = app.all_events().await;
    assert_eq!(
        via_docker(&events, &bob_name, "auth.denied"),
        4,
        "each refusal audited"
    );
    ann.ok(&["rm", "-f", "secret"]).await;
}

#[tokio::test]
async fn volumes_and_networks_are_the_caller_s() {
    let app = two_engines().await;
    let (_, ann) = tenant(&app, "ann").await;
    let (_, bob) = tenant(&app, "bob").await;

    ann.ok(&["volume", "create", "data"]).await;
    assert_eq!(ann.ok(&["volume", "ls", "-q"]).await.trim(), "data");
    ann.ok(&[
        "run",
        "--rm",
        "-v",
        "data:/d",
        "busybox",
        "sh",
        "-c",
        "echo kept > /d/f",
    ])
    .await;
    let kept = ann
        .ok(&["run", "--rm", "-v", "data:/d", "busybox", "cat", "/d/f"])
        .await;
    assert_eq!(kept, "kept\n");
    assert_eq!(bob.ok(&["volume", "ls", "-q"]).await.trim(), "");
    let stolen = bob.run(&["volume", "rm", "data"]).await;
    assert!(stolen.err.contains("No such volume"), "{stolen:?}");
    // bob's own `data` is another volume.
    bob.ok(&["volume", "create", "data"]).await;
    let empty = bob
        .run(&["run", "--rm", "-v", "data:/d", "busybox", "cat", "/d/f"])
        .await;
    assert_ne!(empty.code, 0, "bob read ann's volume: {empty:?}");
    bob.ok(&["volume", "rm", "data"]).await;

    ann.ok(&["network", "create", "backend"]).await;
    let nets = ann.ok(&["network", "ls", "--format", "{{.Name}}"]).await;
    assert!(nets.lines().any(|n| n == "backend"), "{nets}");
    assert!(
        !bob.ok(&["network", "ls", "--format", "{{.Name}}"])
            .await
            .contains("backend")
    );
    let joined = bob.run(&["network", "rm", "backend"]).await;
    assert!(joined.err.contains("No such network"), "{joined:?}");
    ann.ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "backend",
        "busybox",
        "sleep",
        "60",
    ])
    .await;
    let reached = ann
        .ok(&[
            "run",
            "--rm",
            "--network",
            "backend",
            "busybox",
            "ping",
            "-c1",
            "-W2",
            "db",
        ])
        .await;
    assert!(reached.contains("1 packets received"), "{reached}");
    let in_use = ann.run(&["network", "rm", "backend"]).await;
    assert!(in_use.err.contains("in use"), "{in_use:?}");
    ann.ok(&["rm", "-f", "db"]).await;
    ann.ok(&["network", "rm", "backend"]).await;
    ann.ok(&["volume", "rm", "data"]).await;
    assert_eq!(ann.ok(&["volume", "ls", "-q"]).await.trim(), "");
}

#[tokio::test]
async fn without_a_token_the_cli_is_told_how_to_log_in() {
    let app = TestApp::spawn().await;
    let cli = Cli::new(&app, "");
    let ran = cli.run(&["ps"]).await;
    assert!(ran.err.contains("POST /apiv1/login"), "{ran:?}");
    let forged = Cli::new(&app, "not-a-token");
    assert_ne!(forged.run(&["ps"]).await.code, 0);
    let (_, token) = app.user("ann").await;
    let cli = Cli::new(&app, &token);
    let unsupported = cli.run(&["swarm", "init"]).await;
    assert!(
        unsupported
            .err
            .contains("POST /swarm/init is not supported"),
        "{unsupported:?}"
    );
}

#[tokio::test]
async fn an_auto_removed_container_gives_its_reservation_back() {
    let app = two_engines().await;
    let (ann, cli) = tenant(&app, "ann").await;
    cli.ok(&["run", "--rm", "--memory", "100m", "busybox", "true"])
        .await;
    let mut reserved = u64::MAX;
    for _ in 0..100 {
        let (_, capacity) = app.get("/apiv1/cluster", Some(&app.admin_token)).await;
        reserved = capacity["data"]["total"]["reserved_memory"]
            .as_u64()
            .unwrap();
        if reserved == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        reserved, 0,
        "the claim of a removed container is released within 10 s"
    );
    let events = app.all_events().await;
    let removed = (events.iter())
        .filter(|e| {
            e["action"] == "container.destroy"
                && e["actor"] == "engine"
                && e["owner"] == ann.as_str()
        })
        .count();
    assert_eq!(removed, 2, "intent and outcome of the engine's removal");
}

/// `docker-compose` 1.29 (Debian's) with this project file: two services on one network, with
/// a named volume; `web` reaches `db` by its service name.
const COMPOSE_FILE: &str = r#"
version: "3"
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo stored > /data/x; httpd -f -p 8000 -h /data"]
    volumes: [data:/data]
    networks: [back]
  web:
    image: busybox
    command: ["sh", "-c", "until wget -qO- http://db:8000/x; do sleep 0.2; done; sleep 300"]
    networks: [back]
    depends_on: [db]
volumes:
  data:
networks:
  back:
"#;

/// Runs a program with the CLI's token and the listener as `DOCKER_HOST`.
async fn with_docker_env(cli: &Cli, program: &str, args: &[&str], dir: &std::path::Path) -> Ran {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", &cli.host)
        .env("DOCKER_CONFIG", &cli.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let child = cmd.spawn().expect("installed by scripts/testbed.sh");
        Ran::of(wait_for(child, Duration::from_secs(120)))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn compose_up_and_down_leaves_nothing_behind() {
    let app = two_engines().await;
    let (ann, cli) = tenant(&app, "ann").await;
    let dir = cli.config.join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("docker-compose.yml"), COMPOSE_FILE).unwrap();
    let compose =
        |args: &'static [&'static str]| with_docker_env(&cli, "docker-compose", args, &dir);

    let up = compose(&["-p", "shop", "up", "-d"]).await;
    assert_eq!(up.code, 0, "{up:?}");
    let mut logs = String::new();
    for _ in 0..50 {
        logs = compose(&["-p", "shop", "logs", "--no-color", "web"])
            .await
            .out;
        if logs.contains("stored") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(logs.contains("stored"), "web reached db by name: {logs}");
    let ps = cli.ok(&["ps", "--format", "{{.Names}}"]).await;
    assert_eq!(ps.lines().count(), 2, "{ps}");

    let down = compose(&["-p", "shop", "down", "-v"]).await;
    assert_eq!(down.code, 0, "{down:?}");
    assert_eq!(cli.ok(&["ps", "-aq"]).await.trim(), "");
    assert_eq!(cli.ok(&["volume", "ls", "-q"]).await.trim(), "");
    let networks = cli.ok(&["network", "ls", "--format", "{{.Name}}"]).await;
    assert!(!networks.contains("shop"), "{networks}");
    let (_, capacity) = app.get("/apiv1/cluster", Some(&app.admin_token)).await;
    assert_eq!(capacity["data"]["total"]["containers"], 0, "{capacity}");
    let events = app.all_events().await;
    assert!(via_docker(&events, &ann, "network.create") >= 2);
    assert!(via_docker(&events, &ann, "volume.create") >= 2);
}

#[tokio::test]
async fn the_python_sdk_runs_execs_and_cleans_up() {
    let app = two_engines().await;
    let (_, cli) = tenant(&app, "ann").await;
    let python = std::env::var("CLEMENTINE_TESTBED_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/.testbed/venv/bin/python").into()
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/docker_sdk.py");
    let ran = with_docker_env(&cli, &python, &[script], &std::env::temp_dir()).await;
    assert_eq!((ran.code, ran.out.trim()), (0, "ok"), "{ran:?}");
}

#[tokio::test]
async fn events_show_only_the_caller_s_containers() {
    let app = two_engines().await;
    let (_, ann) = tenant(&app, "ann").await;
    let (_, bob) = tenant(&app, "bob").await;
    let since = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1)
    .to_string();
    ann.ok(&["run", "--rm", "--name", "anns", "busybox", "true"])
        .await;
    bob.ok(&["run", "--rm", "--name", "bobs", "busybox", "true"])
        .await;
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let args = [
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ];
    let seen = ann.ok(&args).await;
    assert!(seen.lines().any(|l| l == "start anns"), "{seen}");
    assert!(!seen.contains("bobs") && !seen.contains("clm."), "{seen}");
}

#[tokio::test]
async fn an_api_token_reaches_only_its_scopes_and_a_revoked_one_ends_its_stream() {
    let app = two_engines().await;
    let (user, login) = app.user("ann").await;
    app.grant(&user, &["e1", "e2"]).await;
    let token = |scopes: Value| {
        let app = &app;
        let login = login.clone();
        async move {
            let (status, made) = app
                .post(
                    "/apiv1/tokens",
                    Some(&login),
                    json!({"name": "cli", "scopes": scopes}),
                )
                .await;
            assert_eq!(status, 200, "{made}");
            (
                made["data"]["token"].as_str().unwrap().to_string(),
                made["data"]["id"].as_str().unwrap().to_string(),
            )
        }
    };
    let (read, _) = token(json!(["read"])).await;
    let reader = Cli::new(&app, &read);
    assert_eq!(reader.run(&["ps"]).await.code, 0);
    let refused = reader.run(&["run", "--rm", "busybox", "true"]).await;
    assert!(refused.err.contains("needs the run scope"), "{refused:?}");

    let (run, run_id) = token(json!(["read", "run"])).await;
    let runner = Cli::new(&app, &run);
    runner
        .ok(&[
            "run",
            "-d",
            "--name",
            "ticker",
            "busybox",
            "sh",
            "-c",
            "while true; do echo t; sleep 0.2; done",
        ])
        .await;
    let follow = runner.run(&["logs", "-f", "ticker"]);
    let revoke = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let path = format!("/apiv1/token/{run_id}");
        let (status, _) = app.delete(&path, Some(&login)).await;
        assert_eq!(status, 200);
    };
    let (followed, ()) = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(follow, revoke)
    })
    .await
    .expect("logs -f ends within a second or two of the revoke");
    assert!(followed.out.contains("t\n"), "{followed:?}");
    Cli::new(&app, &login).ok(&["rm", "-f", "ticker"]).await;
}

#[tokio::test]
async fn the_docker_api_serves_https() {
    let certs = crate::common::certs_dir();
    let app = TestApp::spawn_with(|env| {
        env.insert(
            "CLEMENTINE_DOCKER_TLS_CERT".into(),
            certs.join("server-cert.pem").display().to_string(),
        );
        env.insert(
            "CLEMENTINE_DOCKER_TLS_KEY".into(),
            certs.join("server-key.pem").display().to_string(),
        );
    })
    .await;
    let (_, token) = app.user("ann").await;
    let cli = Cli::new(&app, &token);
    let ca = certs.join("ca.pem").display().to_string();
    let version = cli
        .ok(&[
            "--tlsverify",
            "--tlscacert",
            &ca,
            "version",
            "--format",
            "{{.Server.APIVersion}}",
        ])
        .await;
    assert_eq!(version.trim(), "1.41");
    let plain = cli
        .run(&["version", "--format", "{{.Server.APIVersion}}"])
        .await;
    assert_ne!(
        plain.code, 0,
        "plain HTTP is not served on the TLS port: {plain:?}"
    );
}

/// The test bed's `redis:latest` (Debian's redis-server, imported) runs through the Docker API
/// and answers PING on the engine's address.
#[tokio::test]
async fn a_real_redis_answers_ping() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = two_engines().await;
    let (_, cli) = tenant(&app, "ann").await;
    let port = test_port();
    let publish = format!("{port}:6379");
    cli.ok(&["run", "-d", "--name", "cache", "-p", &publish, "redis"])
        .await;
    let ports = cli.ok(&["port", "cache", "6379"]).await;
    let addr = ports.lines().next().unwrap_or_default().trim().to_string();
    let mut answer = String::new();
    for _ in 0..50 {
        if let Ok(mut conn) = tokio::net::TcpStream::connect(&addr).await {
            conn.write_all(b"PING\r\n").await.unwrap();
            let mut buf = [0u8; 16];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            answer = String::from_utf8_lossy(&buf[..n]).into_owned();
            if answer.starts_with("+PONG") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answer.starts_with("+PONG"), "{addr}: {answer:?}");
    cli.ok(&["rm", "-f", "cache"]).await;
}

#[tokio::test]
async fn info_pull_and_attach() {
    let app = two_engines().await;
    let (_, cli) = tenant(&app, "ann").await;
    let cpus: f64 = cli
        .ok(&["info", "--format", "{{.NCPU}}"])
        .await
        .trim()
        .parse()
        .unwrap();
    assert!(cpus >= 1.0, "info sums the caller's engines: {cpus}");
    let registry = std::env::var("CLEMENTINE_TESTBED_REGISTRY").unwrap_or("127.0.0.1:5000".into());
    let image = format!("{registry}/clementine/pulltest:1");
    cli.ok(&["pull", &image]).await;
    let held = cli
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .await;
    assert!(held.lines().any(|l| l == image), "{held}");
    let held = cli.ok(&["image", "inspect", "-f", "{{.Id}}", &image]).await;
    assert!(held.starts_with("sha256:"), "{held}");
    // docker attach to a running container's output, detached again by ending the CLI.
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "sleep 1; echo said",
    ])
    .await;
    let attached = cli.run(&["attach", "talker"]).await;
    assert_eq!(
        (attached.code, attached.out.as_str()),
        (0, "said\n"),
        "{attached:?}"
    );
    cli.ok(&["rm", "-f", "talker"]).await;
}

/// Spread placement would put two containers on two engines; on one named network they land
/// together (engines share no network), and reach each other by name.
#[tokio::test]
async fn a_named_network_keeps_its_containers_on_one_engine() {
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_STRATEGY".into(), "spread".into());
    })
    .await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    let (_, cli) = tenant(&app, "ann").await;
    cli.ok(&["network", "create", "back"]).await;
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "back",
        "busybox",
        "sleep",
        "60",
    ])
    .await;
    cli.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "back",
        "busybox",
        "sleep",
        "60",
    ])
    .await;
    cli.ok(&["run", "-d", "--name", "alone", "busybox", "sleep", "60"])
        .await;
    let (_, listed) = app.get("/apiv1/containers", Some(&app.admin_token)).await;
    let engine_of = |name: &str| {
        let all = listed["data"]["containers"].as_array().unwrap();
        let c = all
            .iter()
            .find(|c| c["name"] == format!("/{name}"))
            .expect(name);
        c["engine"]["id"].as_str().unwrap().to_string()
    };
    assert_eq!(engine_of("db"), engine_of("web"), "{listed}");
    assert_ne!(
        engine_of("db"),
        engine_of("alone"),
        "spread placed the unrelated one apart"
    );
    let reached = cli.ok(&["exec", "web", "ping", "-c1", "-W2", "db"]).await;
    assert!(reached.contains("1 packets received"), "{reached}");
    cli.ok(&["rm", "-f", "db", "web", "alone"]).await;
    cli.ok(&["network", "rm", "back"]).await;
}
