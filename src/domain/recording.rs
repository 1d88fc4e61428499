//! `--record FILE`: one JSON line per AWS call deployer makes (operation, request, answer or
//! error, time), so a deploy against real AWS can be attached to a bug report and replayed as a
//! test. What it must never hold is taken out here: environment values and secrets' sources
//! beyond their names, tokens, keys and credentials, whatever the service.
use serde_json::{json, Map, Value};

use super::hidden_values::hide_values;

/// What a redacted value reads as.
pub const REDACTED: &str = "<redacted>";

/// Members that hold a credential or a token in any AWS answer or request deployer sends:
/// ECR's and ECR Public's `authorizationToken`, STS's `Credentials`, the OIDC token of
/// AssumeRoleWithWebIdentity, and registry passwords.
const SECRET_MEMBERS: [&str; 8] = [
    "authorizationToken",
    "SecretAccessKey",
    "secretAccessKey",
    "SessionToken",
    "sessionToken",
    "WebIdentityToken",
    "password",
    "token",
];

/// The body of a request or answer as the recording keeps it: JSON with its secrets and
/// environment taken out, or the text of an XML or form body with the same members blanked.
pub fn body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut document) => {
            redact_json(&mut document);
            document
        }
        Err(_) => Value::String(redact_text(&String::from_utf8_lossy(bytes))),
    }
}

/// Environment values and secrets' sources as `<set>`, secret members as `<redacted>`, at any
/// depth.
pub fn redact_json(document: &mut Value) {
    hide_values(document);
    redact_members(document);
}

fn redact_members(document: &mut Value) {
    match document {
        Value::Object(map) => {
            // An SSM parameter as GetParameters answers it (Name, Type, Value, Version, ARN):
            // deployer never asks for a value decrypted, but a String parameter's is plain.
            if ["Name", "Type", "Value", "ARN"]
                .iter()
                .all(|key| map.contains_key(*key))
            {
                map.insert("Value".into(), Value::String(REDACTED.to_string()));
            }
            for (key, member) in map.iter_mut() {
                if SECRET_MEMBERS.contains(&key.as_str()) {
                    *member = Value::String(REDACTED.to_string());
                } else {
                    redact_members(member);
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(redact_members),
        _ => {}
    }
}

/// An XML answer (STS, ELBv2) or a form request (`Action=…&WebIdentityToken=…`) with the
/// secret members' contents blanked.
pub fn redact_text(text: &str) -> String {
    let mut text = text.to_string();
    for member in SECRET_MEMBERS {
        // <Member>…</Member>
        let (open, close) = (format!("<{member}>"), format!("</{member}>"));
        let mut searched = 0;
        while let Some(start) = text[searched..]
            .find(&open)
            .map(|at| at + searched + open.len())
        {
            let Some(end) = text[start..].find(&close).map(|at| at + start) else {
                break;
            };
            text.replace_range(start..end, REDACTED);
            searched = start + REDACTED.len() + close.len();
        }
        // Member=…& in a form body.
        let field = format!("{member}=");
        let mut searched = 0;
        while let Some(at) = text[searched..].find(&field).map(|at| at + searched) {
            let preceded = at == 0 || text[..at].ends_with('&');
            let start = at + field.len();
            if !preceded {
                searched = start;
                continue;
            }
            let end = text[start..]
                .find('&')
                .map_or(text.len(), |end| end + start);
            text.replace_range(start..end, REDACTED);
            searched = start + REDACTED.len();
        }
    }
    text
}

/// The operation of a request as the replay server tells calls apart: `Service.Operation`.
pub fn call_line(
    time: &str,
    service: &str,
    operation: &str,
    request: Value,
    status: Option<u16>,
    answer: Value,
) -> Value {
    let mut line = Map::new();
    line.insert("time".into(), json!(time));
    line.insert("service".into(), json!(service));
    line.insert("operation".into(), json!(operation));
    line.insert("request".into(), request);
    match status {
        Some(status) => {
            line.insert("status".into(), json!(status));
            line.insert("answer".into(), answer);
        }
        None => {
            line.insert(
                "error".into(),
                json!("no answer (the call did not reach AWS)"),
            );
        }
    }
    Value::Object(line)
}

#[cfg(test)]
mod tests {
    /// GetParameters answers each parameter with its `Value` (Systems Manager API reference,
    /// Parameter): a String parameter's is plain text even without decryption.
    #[test]
    fn an_ssm_parameter_s_value_is_never_recorded() {
        let answer = br#"{"Parameters":[{"Name":"/tutorial-site/db_password","Type":"String","Value":"p4ssw0rd","Version":1,"ARN":"arn:aws:ssm:eu-west-1:123456789012:parameter/tutorial-site/db_password"}],"InvalidParameters":[]}"#;
        let recorded = body(answer).to_string();
        assert!(!recorded.contains("p4ssw0rd"), "{recorded}");
        assert!(recorded.contains(REDACTED), "{recorded}");
    }

    use super::*;

    #[test]
    fn tokens_keys_and_environment_values_never_stay() {
        let answer = br#"{"authorizationData": [{"authorizationToken": "QVdTOnMzY3IzdA==", "proxyEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}]}"#;
        let kept = body(answer);
        assert_eq!(kept["authorizationData"][0]["authorizationToken"], REDACTED);
        assert_eq!(
            kept["authorizationData"][0]["proxyEndpoint"],
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        let register = br#"{"family": "tutorial-site-task", "containerDefinitions": [{"name": "tutorial-site-app",
            "environment": [{"name": "DB_PASSWORD", "value": "hunter2-s3cr3t"}],
            "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/token"}]}]}"#;
        let kept = body(register).to_string();
        assert!(
            !kept.contains("hunter2") && !kept.contains("parameter/token"),
            "{kept}"
        );
        assert!(
            kept.contains("DB_PASSWORD") && kept.contains("TOKEN"),
            "{kept}"
        );
        let sts = "<AssumeRoleWithWebIdentityResponse><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>wJalr/s3cr3t</SecretAccessKey><SessionToken>FQoGZXIvYXdzEBYaD-s3cr3t</SessionToken></Credentials></AssumeRoleWithWebIdentityResponse>";
        let kept = redact_text(sts);
        assert!(!kept.contains("s3cr3t"), "{kept}");
        assert!(
            kept.contains("<AccessKeyId>ASIAEXAMPLE</AccessKeyId>"),
            "{kept}"
        );
        let form = "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fci&WebIdentityToken=eyJ.s3cr3t.sig&Version=2011-06-15";
        let kept = redact_text(form);
        assert_eq!(
            kept,
            "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fci&WebIdentityToken=<redacted>&Version=2011-06-15"
        );
        assert_eq!(body(b""), Value::Null);
    }
}
