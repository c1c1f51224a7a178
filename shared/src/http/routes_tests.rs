//! `routes.rs`'s tests: path resolution and the 405 answer.

use super::*;

#[test]
fn when_a_path_is_known_with_another_method_it_is_405_with_allow() {
    match resolve(&Method::GET, "/auth/signup") {
        Resolved::MethodNotAllowed(allow) => assert_eq!(allow, "POST, OPTIONS"),
        _ => panic!("expected 405"),
    }
    assert!(matches!(resolve(&Method::GET, "/nope"), Resolved::NotFound));
    assert!(matches!(
        resolve(&Method::GET, "/session"),
        Resolved::Route(Route::GetSession)
    ));
}

#[test]
fn a_path_parameter_matches_one_non_empty_segment() {
    assert!(matches!(
        resolve(&Method::POST, "/me/sessions/sin_1/revoke"),
        Resolved::Route(Route::RevokeSession)
    ));
    assert!(matches!(
        resolve(&Method::POST, "/me/sessions/revoke-others"),
        Resolved::Route(Route::RevokeOtherSessions)
    ));
    for bad in [
        "/me/sessions//revoke",
        "/me/sessions/a/b/revoke",
        "/me/sessions/a",
    ] {
        assert!(
            matches!(resolve(&Method::POST, bad), Resolved::NotFound),
            "{bad}"
        );
    }
    assert_eq!(
        Route::RevokeSession.path_parameter("/me/sessions/sin_1/revoke", "signin_id"),
        Some("sin_1")
    );
}
