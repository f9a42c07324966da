"""Which variables are secrets: by name, by value, or marked by the caller; and what the render does with them."""

from __future__ import annotations

import json

import pytest
from mcp_infra.render import render_adapter, render_documents
from mcp_infra.resources import SecretValue
from mcp_infra.secrets import is_secret, is_secret_name, is_secret_value, secret_names
from mcp_infra.spec import AdapterSpec
from pydantic import ValidationError

from tests.leaked_secrets import JWT, LEAKED

PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"


def spec(env: dict[str, str], marked: list[str] | None = None) -> AdapterSpec:
    body: dict[str, object] = {"name": "a", "imageName": "mcp-proxy", "imageVersion": "1", "environmentVariables": env}
    if marked is not None:
        body["secretEnvironmentVariables"] = marked
    return AdapterSpec.model_validate(body)


@pytest.mark.parametrize(("name", "value"), LEAKED.items(), ids=list(LEAKED))
def test_every_variable_the_issue_lists_is_secret(name: str, value: str) -> None:
    assert is_secret(name, value)
    assert secret_names({name: value, "LOG_LEVEL": "debug"}) == [name]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        # Strong words anywhere, short ones as a whole part.
        ("PGPASSWORD", True),
        ("MYSQL_PWD", True),
        ("DB_PASS", True),
        ("GPG_PASSPHRASE", True),
        ("SESSION_SECRET", True),
        ("GITHUB_TOKEN", True),
        ("AUTH", True),
        ("BASIC_AUTH", True),
        ("AUTHORIZATION", True),
        ("BEARER", True),
        ("JWT", True),
        ("SESSION_COOKIE", True),
        ("FLASK_SESSION", True),
        ("TLS_CERT", True),
        ("AZURE_CLIENT_CERTIFICATE", True),
        ("AZURE_CLIENT_CERTIFICATE_PASSWORD", True),
        ("SENTRY_DSN", True),
        ("DISCORD_WEBHOOK", True),
        ("REQUEST_SIGNATURE", True),
        ("AZURE_STORAGE_SAS_TOKEN", True),
        ("OPENAI_API_KEY", True),
        ("APIKEY", True),
        ("SSH_PRIVATE_KEY", True),
        ("GOOGLE_CREDENTIALS", True),
        ("AWS_ACCESS_KEY_ID", True),
        ("ADO_PAT", True),
        ("APPLICATIONINSIGHTS_CONNECTION_STRING", True),
        ("apiKey", True),
        ("dbPassword", True),
        # An address is the secret when it is a capability: whoever knows it may post or read.
        ("SLACK_WEBHOOK_URL", True),
        ("AZURE_STORAGE_SAS_URL", True),
        ("SENTRY_DSN_URL", True),
        ("SECRET_ENDPOINT", True),
        # Not secrets: short words inside longer ones, and names of where a secret is or which kind to use.
        ("MONKEY", False),
        ("KEYBOARD_LAYOUT", False),
        ("PASSENGER_COUNT", False),
        ("BYPASS_CACHE", False),
        ("AZURE_FEDERATED_TOKEN_FILE", False),
        ("AZURE_TOKEN_CREDENTIALS", False),
        ("ADO_MCP_AZURE_TOKEN_CREDENTIALS", False),
        ("AZURE_CLIENT_CERTIFICATE_PATH", False),
        ("SSL_CERT_DIR", False),
        ("KEY_VAULT_SECRET_NAME", False),
        ("OAUTH_TOKEN_URL", False),
        ("AZURE_KEY_VAULT_URL", False),
        ("AUTH_ENDPOINT", False),
        ("PUBLIC_URL", False),
        ("MCP_PROXY_URL", False),
        ("DATABASE_URL", False),  # by its name alone: a password inside makes it secret by value
        ("LOG_LEVEL", False),
    ],
)
def test_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        ("postgresql://u:p@h/db", True),
        ("mongodb+srv://u:p@cluster0.example.mongodb.net/db?retryWrites=true", True),
        ("https://key@o1.ingest.sentry.io/1", True),
        ("redis://:pw@127.0.0.1:6379/0", True),
        ("ssh://deploy:pw@host/repo", True),
        ("--db postgresql://u:p@h/db --verbose", True),  # inside arguments too
        ("https://hooks.slack.com/services/T000/B000/XXXX", True),
        ("https://contoso.webhook.office.com/webhookb2/abc", True),
        ("https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=abc%3D", True),
        ("https://api.example.com/v1?api_key=abc", True),
        ("wss://stream.example.com/?token=abc", True),
        ("Server=tcp:h,1433;Database=d;User ID=u;Password=p;", True),
        ("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==;EndpointSuffix=core.windows.net", True),
        ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=abc=", True),
        ("host=db user=app password=p dbname=app", True),
        (PRIVATE_KEY, True),
        (JWT, True),
        ("ghp_" + "a" * 36, True),
        ("xoxb-1234-5678-abcdefgh", True),
        ("AKIAIOSFODNN7EXAMPLE", True),
        ("https://example.com", False),
        ("https://internal-mcp-server/mcp", False),
        ("postgresql://db.internal:5432/app", False),
        ("https://example.com/search?q=mcp&page=2", False),
        ("git+ssh://git@github.com/contoso/tools.git", False),  # an SSH login name; the key is elsewhere
        ("-y @azure/mcp@latest server start", False),
        ("--prerelease=allow --from git+https://github.com/azure-ai-foundry/mcp-foundry.git run", False),
        ("alice@example.com", False),
        ("WorkloadIdentityCredential", False),
        ("/var/run/secrets/azure/tokens/azure-identity-token", False),
        ("true", False),
    ],
)
def test_values(value: str, secret: bool) -> None:
    assert is_secret_value(value) is secret


def test_a_secret_value_is_secret_whatever_its_name() -> None:
    assert is_secret("MCP_PROXY_URL", "https://u:p@upstream.example.com/mcp")
    assert is_secret("AZURE_CLIENT_CERTIFICATE_PATH", PRIVATE_KEY)  # a location name does not excuse the value
    assert is_secret("NOTES", "see postgresql://u:p@h/db")


def test_a_switch_is_not_a_secret_but_a_credential_named_like_one_is() -> None:
    assert not is_secret("AZURE_MCP_INCLUDE_PRODUCTION_CREDENTIALS", "true")
    assert not is_secret("AUTH_ENABLED", "False")
    assert is_secret("AZURE_MCP_INCLUDE_PRODUCTION_CREDENTIALS", "cred-s3cr3t")


def test_a_caller_marks_any_variable_secret() -> None:
    marked = spec({"LICENSE": "ABCD-1234", "LOG_LEVEL": "debug", "PGPASSWORD": "p"}, ["LICENSE"])
    assert marked.secret_names() == ["LICENSE", "PGPASSWORD"]  # marks add to what looks secret, never take away
    assert marked.to_json()["secretEnvironmentVariables"] == ["LICENSE"]


def test_marks_are_returned_as_given_and_left_out_when_absent() -> None:
    assert spec({"B": "1", "A": "2"}, ["B", "A"]).to_json()["secretEnvironmentVariables"] == ["B", "A"]
    assert "secretEnvironmentVariables" not in spec({"A": "1"}).to_json()
    assert "secretEnvironmentVariables" not in spec({"A": "1"}, []).to_json()


def test_a_mark_must_name_a_variable_of_the_adapter() -> None:
    with pytest.raises(ValidationError) as caught:
        spec({"A": "1"}, ["B"])
    (error,) = caught.value.errors()
    assert error["loc"] == ("secretEnvironmentVariables",)
    assert "'B' is not in environmentVariables" in error["msg"]
    with pytest.raises(ValidationError):
        spec({"A": "1"}, ["not a name"])


def test_the_examples_render_as_before_and_none_of_their_variables_is_secret(example: AdapterSpec) -> None:
    # AZURE_MCP_INCLUDE_PRODUCTION_CREDENTIALS=true is a switch; *_TOKEN_CREDENTIALS names a kind of credential.
    assert example.secret_names() == []
    assert render_adapter(example).find("Secret") == []
    assert "secretEnvironmentVariables" not in example.to_json()


def test_the_render_deploys_every_secret_from_a_secret_and_prints_none() -> None:
    env = {"MCP_COMMAND": "npx", "LICENSE": "license-s3cr3t", "LOG_LEVEL": "debug", **LEAKED}
    adapter = spec(env, ["LICENSE"])
    rendered = render_adapter(adapter)
    secret = rendered.get("Secret")
    hidden = [*LEAKED, "LICENSE"]
    # The pod still gets every real value: the Secret holds it, the container reads it by reference.
    assert {k: v.value for k, v in secret.inputs["stringData"].items()} == {k: env[k] for k in hidden}
    assert all(isinstance(v, SecretValue) for v in secret.inputs["stringData"].values())
    container = rendered.get("StatefulSet").plain_inputs()["spec"]["template"]["spec"]["containers"][0]
    variables = {e["name"]: e for e in container["env"]}
    for name in hidden:
        assert variables[name] == {"name": name, "valueFrom": {"secretKeyRef": {"name": secret.name, "key": name}}}
    assert variables["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "debug"}
    printed = render_documents([adapter]) + render_documents([adapter], output="json") + repr(rendered)
    printed += json.dumps([r.plain_inputs() for r in rendered.resources])
    for name in hidden:
        assert env[name] not in printed, name
