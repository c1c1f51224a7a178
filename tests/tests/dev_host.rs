//! The dev server answers only loopback hosts (and `DEV_ALLOWED_HOSTS`): a DNS-rebinding page
//! makes the browser send requests to 127.0.0.1 with `Host:` naming the page's own domain, and
//! must not read `/dev/outbox` (every code sent) or anything else.

use reqwest::header::HOST;
use serde_json::Value;
use sesame_dev::AllowedHosts;
use sesame_e2e::{Backend, Server, unique_email};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` on the server with `Host: host`: the status and the parsed body.
async fn get_as(server_base: &str, host: &str, path: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{server_base}{path}"))
        .header(HOST, host)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let body = res.json().await.expect("a JSON body");
    (status, body)
}

fn assert_refused(answer: &(u16, Value), host: &str, path: &str) {
    let (status, body) = answer;
    assert_eq!(*status, 403, "{host} {path}: {body:#}");
    assert_eq!(body["status"], 403, "{host} {path}: {body:#}");
    assert_eq!(
        body["errors"][0]["code"], "FORBIDDEN_HOST",
        "{host} {path}: {body:#}"
    );
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["session"], Value::Null);
}

fn port_of(base: &str) -> &str {
    base.rsplit(':').next().expect("a port")
}

#[tokio::test]
async fn when_the_host_is_not_loopback_every_route_is_refused_and_the_outbox_stays_unread() {
    let server = Server::start(Backend::Embedded, &[]).await.unwrap();
    let email = unique_email("rebind");
    let opened = server.browser().sign_up(&email).await;
    assert_eq!(opened.status, 200, "{:#}", opened.body);
    let port = port_of(&server.base);

    for host in [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        for path in [
            "/dev/outbox",
            "/dev/providers",
            "/session",
            "/.well-known/jwks.json",
            "/openapi.json",
            "/",
            "/demo/app.js",
            "/nope",
        ] {
            let answer = get_as(&server.base, &host, path).await;
            assert_refused(&answer, &host, path);
            assert!(
                !answer.1.to_string().contains(&email),
                "{host} {path} leaked the outbox: {:#}",
                answer.1
            );
        }
    }

    // A sign-up through a foreign host is refused too, before anything is sent.
    let res = reqwest::Client::new()
        .post(format!("{}/auth/signup", server.base))
        .header(HOST, "evil.example")
        .json(
            &serde_json::json!({"email": unique_email("rebind2"), "password": "analytical engine"}),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(server.outbox.as_ref().unwrap().list().len(), 1);
}

#[tokio::test]
async fn when_the_host_is_loopback_the_outbox_and_the_api_answer() {
    let server = Server::start(Backend::Embedded, &[]).await.unwrap();
    let email = unique_email("loopback");
    server.browser().sign_up(&email).await;
    let port = port_of(&server.base);

    for host in [
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        "localhost".to_string(),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "[::1]".to_string(),
    ] {
        let (status, outbox) = get_as(&server.base, &host, "/dev/outbox").await;
        assert_eq!(status, 200, "{host}: {outbox:#}");
        assert_eq!(outbox[0]["to"], email.as_str(), "{host}");
        let (status, session) = get_as(&server.base, &host, "/session").await;
        assert_eq!((status, &session["data"]), (200, &Value::Null), "{host}");
    }
}

#[tokio::test]
async fn when_a_request_names_no_host_it_is_refused() {
    let server = Server::start(Backend::Embedded, &[]).await.unwrap();
    let address = server.base.trim_start_matches("http://");
    for path in ["/dev/outbox", "/session"] {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.0 403"), "{path}: {answer}");
        assert!(answer.contains("\"FORBIDDEN_HOST\""), "{path}: {answer}");
    }
}

#[tokio::test]
async fn when_dev_allowed_hosts_lists_a_host_it_is_answered() {
    let (app, outbox) = sesame::wiring::embedded(sesame_e2e::test_config(&[]));
    let hosts = AllowedHosts::parse("sesame.test").expect("a host name");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sesame_dev::serve(
        listener,
        sesame_dev::router(app, Some(outbox), hosts),
        async {
            let _ = stopped.await;
        },
    ));
    let port = port_of(&base);

    for host in ["sesame.test".to_string(), format!("Sesame.Test:{port}")] {
        for path in ["/dev/outbox", "/session"] {
            let (status, body) = get_as(&base, &host, path).await;
            assert_eq!(status, 200, "{host} {path}: {body:#}");
        }
    }
    let (status, _) = get_as(&base, &format!("localhost:{port}"), "/dev/outbox").await;
    assert_eq!(status, 200, "loopback still answers");
    for host in ["evil.example", "sub.sesame.test"] {
        assert_refused(
            &get_as(&base, host, "/dev/outbox").await,
            host,
            "/dev/outbox",
        );
    }
    let _ = stop.send(());
}
