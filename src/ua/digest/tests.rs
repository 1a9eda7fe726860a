use super::*;

fn mufasa(password: &str) -> Credentials {
    Credentials {
        user: "Mufasa".into(),
        password: password.into(),
        realm: None,
    }
}

fn response_param(value: &str) -> String {
    params_of(value)
        .unwrap()
        .1
        .into_iter()
        .find(|(n, _)| n == "response")
        .unwrap()
        .1
}

/// RFC 7616 §3.9.1: the MD5 and SHA-256 examples, qop auth.
#[test]
fn rfc_7616_examples_give_the_published_responses() {
    let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    for (alg, expected) in [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        (
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let ch = Challenge::parse(
            Challenger::Server,
            &format!(
                "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={alg}, nonce=\"{nonce}\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
            ),
        )
        .unwrap();
        let value = ch.answer(
            &mufasa("Circle of Life"),
            "GET",
            "/dir/index.html",
            1,
            cnonce,
        );
        assert_eq!(response_param(&value), expected, "{alg}");
        assert!(value.contains("nc=00000001"), "{value}");
        assert!(value.contains("qop=auth,"), "{value}");
        assert!(value.contains("opaque=\"FQhe/"), "{value}");
    }
}

/// RFC 2617 §3.5's example (MD5, qop auth), and the RFC 2069 form without qop.
#[test]
fn rfc_2617_example_and_the_form_without_qop() {
    let ch = Challenge::parse(
        Challenger::Proxy,
        "Digest realm=\"testrealm@host.com\", qop=\"auth\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
    )
    .unwrap();
    let value = ch.answer(
        &mufasa("Circle Of Life"),
        "GET",
        "/dir/index.html",
        1,
        "0a4f113b",
    );
    assert_eq!(response_param(&value), "6629fae49393a05397450978507c4ef1");
    let bare = Challenge::parse(
        Challenger::Proxy,
        "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
    )
    .unwrap();
    let value = bare.answer(&mufasa("Circle Of Life"), "GET", "/dir/index.html", 1, "x");
    // MD5(HA1:nonce:HA2), no cnonce, qop or nc.
    let alg = Algorithm::Md5;
    let ha1 = alg.hex("Mufasa:testrealm@host.com:Circle Of Life");
    let ha2 = alg.hex("GET:/dir/index.html");
    let expected = alg.hex(&format!("{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:{ha2}"));
    assert_eq!(response_param(&value), expected);
    assert!(
        !value.contains("cnonce") && !value.contains("nc="),
        "{value}"
    );
}

#[test]
fn challenges_we_cannot_answer_are_none() {
    for value in [
        "Basic realm=\"x\"",
        "Digest nonce=\"n\"",
        "Digest realm=\"r\"",
        "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256-unknown",
        "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
        "Digest realm=\"r, nonce=\"n\"",
    ] {
        assert_eq!(Challenge::parse(Challenger::Server, value), None, "{value}");
    }
}

fn request() -> Message {
    Message::parse(
        b"INVITE sip:100@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:100@192.0.2.10>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap()
}

fn challenge(code: u16, header: &str, value: &str) -> Message {
    let mut resp = Message::response_to(&request(), code, "Auth", Some("t"));
    resp.push_header(header, value);
    resp
}

/// The cache answers a 407 once, then pre-authorises with the next nonce count; a second
/// challenge of the same realm is a refusal unless it is stale; another realm, or a realm
/// the credentials are not for, is not answered.
#[test]
fn the_cache_answers_once_counts_nonces_and_retries_only_stale() {
    let creds = mufasa("pw");
    let mut cache = AuthCache::default();
    let sent = request();
    let first = challenge(
        407,
        "Proxy-Authenticate",
        "Digest realm=\"p\", nonce=\"n1\", qop=\"auth\", algorithm=SHA-256",
    );
    assert!(cache.learn(&first, &sent, &creds));
    let mut retry = request();
    cache.authorize(&mut retry, &creds);
    let auth = retry.header("Proxy-Authorization").unwrap().to_string();
    assert!(
        auth.contains("nc=00000001") && auth.contains("algorithm=SHA-256"),
        "{auth}"
    );
    assert!(auth.contains("uri=\"sip:100@192.0.2.10\""), "{auth}");
    cache.authorize(&mut retry, &creds);
    let again: Vec<&str> = retry.header_values("Proxy-Authorization").collect();
    assert_eq!(again.len(), 1, "credentials replaced, not added");
    assert!(again[0].contains("nc=00000002"), "{}", again[0]);

    // The same realm challenges the request that carried its credentials: refused.
    let second = challenge(
        407,
        "Proxy-Authenticate",
        "Digest realm=\"p\", nonce=\"n2\", qop=\"auth\"",
    );
    assert!(!cache.learn(&second, &retry, &creds));
    // ... unless only the nonce was stale.
    let stale = challenge(
        407,
        "Proxy-Authenticate",
        "Digest realm=\"p\", nonce=\"n3\", qop=\"auth\", stale=TRUE",
    );
    assert!(cache.learn(&stale, &retry, &creds));
    let mut third = request();
    cache.authorize(&mut third, &creds);
    let auth = third.header("Proxy-Authorization").unwrap();
    assert!(
        auth.contains("nonce=\"n3\"") && auth.contains("nc=00000001"),
        "{auth}"
    );

    // Credentials for realm "p" only: a 401 from realm "phone" is not answered.
    let only_p = Credentials {
        realm: Some("p".into()),
        ..creds.clone()
    };
    let phone = challenge(
        401,
        "WWW-Authenticate",
        "Digest realm=\"phone\", nonce=\"x\"",
    );
    assert!(!AuthCache::default().learn(&phone, &sent, &only_p));
    assert!(AuthCache::default().learn(&phone, &sent, &creds));
    // A 401 without a challenge we can answer.
    let basic = challenge(401, "WWW-Authenticate", "Basic realm=\"p\"");
    assert!(!AuthCache::default().learn(&basic, &sent, &creds));
}

/// RFC 8760 §2.4: of two challenges for one realm, the SHA-256 one is answered.
#[test]
fn the_strongest_algorithm_of_a_realm_is_chosen() {
    let creds = mufasa("pw");
    let mut resp = challenge(
        401,
        "WWW-Authenticate",
        "Digest realm=\"r\", nonce=\"a\", algorithm=MD5",
    );
    resp.push_header(
        "WWW-Authenticate",
        "Digest realm=\"r\", nonce=\"b\", algorithm=SHA-256",
    );
    let mut cache = AuthCache::default();
    assert!(cache.learn(&resp, &request(), &creds));
    let mut req = request();
    cache.authorize(&mut req, &creds);
    let values: Vec<&str> = req.header_values("Authorization").collect();
    assert_eq!(values.len(), 1);
    assert!(values[0].contains("algorithm=SHA-256"), "{}", values[0]);
}

#[test]
fn the_password_is_not_in_debug_output() {
    assert!(!format!("{:?}", mufasa("s3cret")).contains("s3cret"));
}
