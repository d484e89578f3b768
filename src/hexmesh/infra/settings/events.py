"""Settings of the event ports' log: embedded, or NATS JetStream and how to connect to it."""

from __future__ import annotations

from dataclasses import dataclass

from hexmesh.infra.settings._field import Base, key

__all__ = ["ABOUT", "EventsSettings"]

#: What the section of the configuration reference says about these settings.
ABOUT = "The event port's log: embedded by default, NATS JetStream by URL."


@dataclass(frozen=True)
class EventsSettings(Base):
    """The event log, and how a node connects to NATS."""

    events_url: str = key(
        "",
        "HEXMESH_EVENTS_URL",
        "The event log: empty for the embedded one, `nats://host:port` for NATS JetStream.",
        group="events",
    )
    events_namespace: str = key(
        "",
        "HEXMESH_EVENTS_NAMESPACE",
        "The name of this mesh's NATS stream and the first token of its subjects, so that meshes sharing a "
        "NATS server never mix their events.",
        group="events",
        shown="hexmesh-<mesh id> (the id is made once, in the state store)",
    )

    events_nats_user: str = key(
        "",
        "HEXMESH_EVENTS_NATS_USER",
        "The user name a node connects to NATS with (with events_nats_password). NATS carries rows as stored: "
        "keep it private to the nodes (docs/events.md).",
        group="events",
    )
    events_nats_password: str = key(
        "", "HEXMESH_EVENTS_NATS_PASSWORD", "The password of events_nats_user.", group="events", secret=True
    )
    events_nats_token: str = key(
        "",
        "HEXMESH_EVENTS_NATS_TOKEN",
        "A NATS authorization token (token authentication).",
        group="events",
        secret=True,
    )
    events_nats_nkey: str = key(
        "",
        "HEXMESH_EVENTS_NATS_NKEY",
        "A file holding the NKey seed (`SU…`) a node signs the NATS server's challenge with.",
        group="events",
    )
    events_nats_creds: str = key(
        "",
        "HEXMESH_EVENTS_NATS_CREDS",
        "A NATS credentials file (`.creds`: a user JWT and its NKey seed), for servers in operator/JWT mode.",
        group="events",
    )
    events_nats_tls_ca: str = key(
        "",
        "HEXMESH_EVENTS_NATS_TLS_CA",
        "The CA certificate (PEM) NATS's TLS certificate is checked against.",
        group="events",
    )
    events_nats_tls_cert: str = key(
        "",
        "HEXMESH_EVENTS_NATS_TLS_CERT",
        "A client certificate (PEM) for NATS servers that verify clients (with events_nats_tls_key).",
        group="events",
    )
    events_nats_tls_key: str = key(
        "", "HEXMESH_EVENTS_NATS_TLS_KEY", "The private key (PEM) of events_nats_tls_cert.", group="events"
    )
