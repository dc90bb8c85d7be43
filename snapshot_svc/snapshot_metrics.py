"""Prometheus metrics of the snapshot service: latency of every gRPC call by
method and status code, and how long jobs take from creation to `complete`."""

from __future__ import annotations

import inspect
import time
from typing import Any, Awaitable, Callable

import grpc
from prometheus_client import Histogram

from chartsnap.metrics import LATENCY_BUCKETS
from snapshot_svc.snapshots import Transition


RPC_SECONDS = Histogram(
    "chartsnap_snapshot_rpc_seconds", "gRPC calls served, by method and status code.",
    ["method", "code"], buckets=LATENCY_BUCKETS)
JOB_COMPLETE_SECONDS = Histogram(
    "chartsnap_snapshot_job_complete_seconds",
    "From CreateSnapshot to the job reaching `complete` (render stored and every delivery ended).",
    buckets=LATENCY_BUCKETS)

MAX_TIMED_HANDLERS = 1024


class RpcMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Times every unary call, including ones that end in an abort."""

    def __init__(self) -> None:
        # A method's timed handler, made on its first call: the server hands
        # over the same registered handler every call, so one wrapper serves.
        self._timed: dict[tuple[str, Any], grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        # Streaming calls (health Watch) have no single duration worth a histogram.
        if handler is None or handler.unary_unary is None:
            return handler
        key = (handler_call_details.method, handler.unary_unary)
        timed = self._timed.get(key)
        if timed is None:
            if not inspect.iscoroutinefunction(handler.unary_unary):
                return handler
            if len(self._timed) >= MAX_TIMED_HANDLERS:  # never reached by a server's fixed methods
                self._timed.clear()
            timed = self._timed[key] = _timed_handler(handler, handler_call_details.method.rsplit("/", 1)[-1])
        return timed


def _timed_handler(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    inner = handler.unary_unary

    async def timed(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            reply = await inner(request, context)
            code = context.code() or grpc.StatusCode.OK  # a handler may set_code() and return
            return reply
        except BaseException:
            # An abort has set the code on the context; anything else is what
            # grpc answers for an unhandled exception.
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        finally:
            RPC_SECONDS.labels(method, _code_name(code)).observe(time.perf_counter() - started)

    return grpc.unary_unary_rpc_method_handler(
        timed, request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer)


def _code_name(code: grpc.StatusCode | int) -> str:
    if isinstance(code, grpc.StatusCode):
        return code.name
    return next((c.name for c in grpc.StatusCode if c.value[0] == code), str(code))


def observe_job_completed(transition: Transition) -> None:
    """Record the job's create→complete time when this transition completed it
    (the store's guarded updates say so once, however often a result is redelivered)."""
    if transition.completed_in is not None:
        JOB_COMPLETE_SECONDS.observe(transition.completed_in)
