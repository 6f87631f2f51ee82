# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright: campus.swarm developers
"""The one way the collection's modules talk to a Docker daemon.

Private to campus.swarm. Every module builds its client with :func:`api_client`
and calls the API through :meth:`DockerApi.call`, which turns the Docker SDK's
errors into :class:`DockerApiError` carrying a sentence that names the call and
the daemon. Tests replace the client with a fake. Runs on the managed host:
Python 3.8+.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable, Dict, List, NoReturn, Optional, Tuple, Type

from ansible.module_utils.basic import missing_required_lib

try:
    import docker
    from docker.errors import APIError, DockerException, NotFound
    from requests.exceptions import RequestException
except ImportError:
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR: Optional[str] = traceback.format_exc()
    DOCKER_ERRORS: Tuple[Type[BaseException], ...] = ()
    NOT_FOUND: Tuple[Type[BaseException], ...] = ()
else:
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
    DOCKER_ERRORS = (APIError, DockerException, RequestException)
    NOT_FOUND = (NotFound,)

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


class DockerApiError(Exception):
    """The Docker daemon could not be asked, or refused; the message says which call and where."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class ReconcileError(Exception):
    """A refusal or failure of a module that reconciles swarm objects; ``actions`` lists what was already done."""

    def __init__(self, msg: str, actions: Optional[List[str]] = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.actions = list(actions or [])


class DockerApi:
    """A low-level Docker API client (``docker.APIClient``) whose calls raise DockerApiError."""

    def __init__(self, base_url: str = DEFAULT_DOCKER_HOST, timeout: int = 60) -> None:
        self.base_url = base_url
        try:
            self.api = docker.APIClient(base_url=base_url, timeout=timeout, version="auto")
        except DOCKER_ERRORS as exc:
            raise DockerApiError(f"cannot talk to the Docker daemon at {base_url}: {exc}") from exc

    def call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)``; ``what`` names the call in the error."""
        try:
            return func(*args, **kwargs)
        except DOCKER_ERRORS as exc:
            raise DockerApiError(f"Docker API call failed ({what}) at {self.base_url}: {exc}") from exc

    def find(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Like :meth:`call`, but ``None`` when the object does not exist."""
        try:
            return func(*args, **kwargs)
        except NOT_FOUND:
            return None
        except DOCKER_ERRORS as exc:
            raise DockerApiError(f"Docker API call failed ({what}) at {self.base_url}: {exc}") from exc


def api_client(base_url: str = DEFAULT_DOCKER_HOST, timeout: int = 60) -> DockerApi:
    """The client every module uses; raises DockerApiError when the daemon cannot be reached."""
    return DockerApi(base_url, timeout)


def _fail(module: Any, msg: str, actions: List[str]) -> NoReturn:
    module.fail_json(msg=msg, actions=actions, changed=bool(actions))
    raise SystemExit(1)  # fail_json exits; a stand-in that returns must not go on


def run_reconcile(module: Any, make_client: Callable[[DockerApi], Any], run: Callable[[Any], Dict[str, Any]],
                  input_errors: Tuple[Type[Exception], ...] = ()) -> Dict[str, Any]:
    """What every module that reconciles swarm objects does around its work: the Docker SDK checked, the client
    made (``make_client`` over :func:`api_client` with the module's ``docker_host`` and ``timeout``) and ``run``
    with it; a failed call, bad input or a refusal ends the module, a refusal with what was already done."""
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker"), exception=DOCKER_IMPORT_ERROR)
        raise SystemExit(1)
    try:
        return run(make_client(api_client(module.params["docker_host"], module.params["timeout"])))
    except DockerApiError as exc:
        _fail(module, exc.msg, [])
    except ReconcileError as exc:
        _fail(module, exc.msg, exc.actions)
    except input_errors as exc:
        _fail(module, str(exc), [])
