//! Steps that are not legal in the session's state send nothing.

use crate::common;

use common::*;
use waba_porting::{Error, Operation, Pin, StateName, VerificationCode};
use wiremock::MockServer;

#[tokio::test]
async fn illegal_steps_send_no_request() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    let pin = Pin::new("123456").unwrap();
    let code = VerificationCode::new("123456").unwrap();
    let (method, language) = sms();

    // Verify before requesting a code, register before verifying.
    let err = client.verify_code(&mut session, &code).await.unwrap_err();
    let Error::IllegalTransition(illegal) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (illegal.operation(), illegal.state()),
        (Operation::VerifyCode, StateName::Draft)
    );
    assert!(!err.is_retryable());
    assert!(client.register(&mut session, &pin, None).await.is_err());
    assert!(client
        .request_code(&mut session, method, &language)
        .await
        .is_err());
    assert!(requests(&server).await.is_empty(), "nothing was sent");
    assert!(session.history().is_empty());

    // Drive to the end; then everything is illegal, including a second register.
    client.start_migration(&mut session).await.unwrap();
    assert!(matches!(
        client.start_migration(&mut session).await,
        Err(Error::IllegalTransition(_))
    ));
    client
        .request_code(&mut session, method, &language)
        .await
        .unwrap();
    assert!(matches!(
        client.register(&mut session, &pin, None).await,
        Err(Error::IllegalTransition(_))
    ));
    client.verify_code(&mut session, &code).await.unwrap();
    client.register(&mut session, &pin, None).await.unwrap();
    let sent_before = requests(&server).await.len();
    for result in [
        client.register(&mut session, &pin, None).await.map(|_| ()),
        client.verify_code(&mut session, &code).await.map(|_| ()),
        client
            .request_code(&mut session, method, &language)
            .await
            .map(|_| ()),
        client.start_migration(&mut session).await.map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::IllegalTransition(e) if e.state() == StateName::Registered),
            "{err}"
        );
        assert!(err.to_string().contains("allowed now: nothing"));
    }
    assert_eq!(
        requests(&server).await.len(),
        sent_before,
        "nothing sent after Registered"
    );
}
