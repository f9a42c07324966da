"""Names vulture takes for dead code that are used after all, by a framework or a protocol that calls them.

`python3 dev.py test` runs vulture over the four packages' src with this file
(see its lint step for the settings). Framework hooks that a decorator already
marks (FastAPI routes, pydantic validators, SQLAlchemy events) and pydantic's
`model_config` are ignored there by name; this file lists the rest. Add a name
here only when something outside our code reads it, and say what.
"""
# ruff: noqa: B018 - each line is an expression that only "uses" a name, for vulture

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# ---- mcp_bridge -----------------------------------------------------------------------------------
_.extract_cookies  # forward._KeepNoCookies: http.cookiejar.CookieJar hooks that httpx calls
_.add_cookie_header
_.format  # logs: logging.Formatter.format, called by the logging machinery
_.disabled  # logs: logging.Logger.disabled, read by the logging machinery
_.get_field_value  # settings: pydantic-settings source hook
_.settings_customise_sources  # settings: pydantic-settings hook, called with these keyword arguments
_.env_settings
_.dotenv_settings
_.file_secret_settings

# ---- mcp_adapters ---------------------------------------------------------------------------------
_.raw_headers  # dataplane/relay: Starlette's Response sends these
_.authority  # api/routes/portal: fields of a response model, serialised by FastAPI
_.redirect_uri
_.entra
_.scopes_supported  # auth/resource: RFC 9728 metadata fields, serialised
_.bearer_methods_supported
_.last_transition_time  # models: fields of API models, serialised
_.last_operation
_.last_updated_at
_.isolation_level  # db/engine: a DB-API connection attribute, read by sqlite3
_.impl  # db/tables: SQLAlchemy TypeDecorator and DeclarativeBase hooks
_.cache_ok
_.process_bind_param
_.process_result_value
_.type_annotation_map
_.revision  # db/migrations: what Alembic reads from a revision module
_.down_revision
_.branch_labels
_.downgrade

# ---- mcp_infra ------------------------------------------------------------------------------------
_.required_roles  # spec: a field of the adapter spec, read through validation and serialisation
