"""Secret references and the two stores."""

from __future__ import annotations

import pytest

from sesclient.node import (
    EnvSecretStore,
    InMemorySecretStore,
    SecretNotFound,
    SecretRef,
    SecretStore,
    parse_secret_ref,
)
from sesclient.node._secrets import SecretRefError

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRETzz"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("secret:ses-production", "ses-production"),
        ({"secret": "ses-production"}, "ses-production"),
        ("secret: team/ses.prod_2 ", "team/ses.prod_2"),
        ({"secret": "x" * 128}, "x" * 128),
    ],
)
def test_references(value: object, name: str) -> None:
    ref = parse_secret_ref(value)
    assert ref == SecretRef(name)
    assert str(ref) == f"secret:{name}"
    assert ref.to_config() == {"secret": name}
    assert parse_secret_ref(ref.to_config()) == ref


@pytest.mark.parametrize(
    "value",
    [SECRET, "secret:" + SECRET, {"secret": SECRET}, "secret:" + "x" * 129, "secret:-x", None],
)
def test_bad_references_are_described_not_quoted(value: object) -> None:
    with pytest.raises(SecretRefError) as caught:
        parse_secret_ref(value)
    assert SECRET not in str(caught.value) and "xxxx" not in str(caught.value)


def test_in_memory_store() -> None:
    store = InMemorySecretStore({"a": SECRET})
    assert isinstance(store, SecretStore)
    assert store.get("a") == SECRET
    assert "a" in store and "b" not in store
    store.set("b", "other")
    assert store.get("b") == "other"
    with pytest.raises(SecretNotFound) as caught:
        store.get("c")
    assert isinstance(caught.value, LookupError)
    assert str(caught.value) == "no secret named 'c' in the in-memory secret store"
    assert repr(store) == "InMemorySecretStore(names=['a', 'b'])"


def test_env_store() -> None:
    environ = {"SESCLIENT_SECRET_SES_PRODUCTION": SECRET, "SESCLIENT_SECRET_EMPTY": ""}
    store = EnvSecretStore(environ=environ)
    assert isinstance(store, SecretStore)
    assert store.variable_for("ses-production") == "SESCLIENT_SECRET_SES_PRODUCTION"
    assert store.variable_for("team/ses.prod") == "SESCLIENT_SECRET_TEAM_SES_PROD"
    assert store.get("ses-production") == SECRET
    for name in ("empty", "missing"):
        with pytest.raises(SecretNotFound) as caught:
            store.get(name)
        assert store.variable_for(name) in str(caught.value)
    environ["SESCLIENT_SECRET_MISSING"] = "rotated-in"
    assert store.get("missing") == "rotated-in"
    custom = EnvSecretStore("APP_", environ={"APP_SES": "v"})
    assert custom.get("ses") == "v"
    assert SECRET not in repr(store)


def test_env_store_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESCLIENT_SECRET_FROM_ENV", "value")
    assert EnvSecretStore().get("from-env") == "value"
