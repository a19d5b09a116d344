//! Template values are written exactly: no HTML escaping, every user value a quoted YAML
//! scalar, and a template that names a missing variable fails with the variable's name.

mod render_support;

use std::collections::BTreeMap;

use pinpoint_attribution::config::{Application, Environment, Settings};
use pinpoint_attribution::render;
use render_support::*;

/// Entities that HTML escaping would produce from `& < > " ' = / \``.
const HTML_ENTITIES: &[&str] = &[
    "&amp;", "&lt;", "&gt;", "&quot;", "&#x27;", "&#x3D;", "&#x2F;", "&#x60;",
];

fn assert_no_html_entities(template: &str) {
    for entity in HTML_ENTITIES {
        assert!(
            !template.contains(entity),
            "template contains {entity}:\n{template}"
        );
    }
}

#[test]
fn tag_value_with_special_characters_is_exact() {
    // Every character here is one that tags may hold and HTML escaping would rewrite or
    // that YAML would misread unquoted (`: ` and `@`).
    let value = "R+D / growth = team @ hq: 1";
    let stack = render_yaml(&environment_yaml(
        &format!("tags:\n  team: \"{value}\"\n"),
        "",
    ));

    assert_no_html_entities(&stack.template);
    assert!(stack.template.contains(value), "exact text missing");
    let template = parse(&stack.template);
    let tags = properties(&template, "FailureQueue")["Tags"]
        .as_array()
        .expect("tags")
        .clone();
    assert!(
        tags.contains(&serde_json::json!({"Key": "team", "Value": value})),
        "{tags:?}"
    );
    assert_eq!(stack.tags["team"], value);
}

#[test]
fn log_group_names_keep_their_slashes() {
    let stack = render_yaml(&environment_yaml("", ""));

    assert!(
        stack
            .template
            .contains("/aws/lambda/pinpoint-attribution-test-shop-tagging")
    );
    assert_no_html_entities(&stack.template);
    let template = parse(&stack.template);
    assert_eq!(
        properties(&template, "TaggingLogGroup")["LogGroupName"],
        "/aws/lambda/pinpoint-attribution-test-shop-tagging"
    );
}

/// An environment built in code, bypassing the loader's checks, so that the renderer receives
/// characters that the loader would reject in tags (IAM and DynamoDB refuse them).
fn unchecked_environment(tag_value: &str, username_attribute: &str) -> Environment {
    Environment {
        source: "built-in-test".into(),
        name: "test".to_owned(),
        region: "eu-west-1".to_owned(),
        account_id: None,
        protected: false,
        cognito_quota: 25,
        stack_prefix: "pinpoint-attribution".to_owned(),
        artifacts_bucket: None,
        tags: BTreeMap::from([("team".to_owned(), tag_value.to_owned())]),
        applications: vec![Application {
            name: "shop".to_owned(),
            pinpoint_app_id: "0123456789abcdef0123456789abcdef".to_owned(),
            user_pool_id: "eu-west-1_AbCdEf123".to_owned(),
            settings: Settings {
                username_attribute: username_attribute.to_owned(),
                ..Settings::default()
            },
        }],
    }
}

#[test]
fn html_characters_reach_the_template_unchanged() {
    let tag_value = "R&D <growth> \"team\"";
    let attribute = "it's # not: a comment \\ {x} [y] 'z'\n\ttab";
    let environment = unchecked_environment(tag_value, attribute);
    let (_dir, artifacts) = artifacts();

    let stack = render::render_application(&environment, &environment.applications[0], &artifacts)
        .expect("render");

    assert_no_html_entities(&stack.template);
    assert!(
        stack.template.contains("R&D <growth> \"team\""),
        "exact tag value missing"
    );
    let template = parse(&stack.template);
    let tags = properties(&template, "EventStream")["Tags"]
        .as_array()
        .expect("tags")
        .clone();
    assert!(
        tags.contains(&serde_json::json!({"Key": "team", "Value": tag_value})),
        "{tags:?}"
    );
    assert_eq!(
        properties(&template, "TaggingFunction")["Environment"]["Variables"]["USERNAME_ATTRIBUTE"],
        attribute
    );
}

#[test]
fn missing_helper_variable_fails_with_its_name() {
    let environment = environment(&environment_yaml("", ""));
    let (_dir, artifacts) = artifacts();
    let template = format!(
        "{}\n  Extra:\n    Value: {{{{yaml names.no_such_name}}}}\n",
        render::TEMPLATE
    );

    let error = render::render_application_with(
        &template,
        &environment,
        &environment.applications[0],
        &artifacts,
    )
    .expect_err("missing variable");

    let message = error.to_string();
    assert!(message.contains("`names.no_such_name`"), "{message}");
    assert!(
        message.starts_with("failed to render the template of application shop: "),
        "{message}"
    );
}

#[test]
fn missing_plain_variable_fails_with_its_name() {
    let environment = environment(&environment_yaml("", ""));
    let (_dir, artifacts) = artifacts();
    let template = format!("{}\n# {{{{no_such_value}}}}\n", render::TEMPLATE);

    let error = render::render_application_with(
        &template,
        &environment,
        &environment.applications[0],
        &artifacts,
    )
    .expect_err("missing variable");

    assert!(error.to_string().contains("`no_such_value`"), "{error}");
}
