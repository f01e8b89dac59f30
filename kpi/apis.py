"""KPI API: the KPI, its gap list, the onboarding funnel and the trend, each also as CSV and XLSX; the rollups'
fill state and an on-demand refresh.

A scope is a saved scope's id (`scope=`), looked up through the one scoping mechanism, so a scope the viewer
may not see is a 404; without it, everything the viewer may see. Products outside the viewer's reach are never
counted. Answers are kept ready until a refresh of the rollups sees a change (kpi.answers): beat refreshes
every minute, and an officer can ask for a refresh now (POST /api/v1/kpi/refresh/).
"""

from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from marketplace.accounts.models import Role
from marketplace.accounts.scoping import ScopedQuerysetMixin, scope_queryset, user_reach
from marketplace.core.api import Pagination
from marketplace.core.errors import ServiceError
from marketplace.places.models import NamedScope

from . import answers, exports, selectors
from .models import RollupState
from .periods import buckets, channels_from_params, interval_from_params, period_from_params
from .selectors import GAP_REASONS, Ask

_COMMON = [
    OpenApiParameter("scope", int, description="Id of a saved scope (GET /api/v1/scopes/); absent: all you see."),
    OpenApiParameter("period", str, description="2024, 2024-Q3 or 2024-03; or give from and to."),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day of the period (with to)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of the period, included (with from)."),
    OpenApiParameter("channels", str, description="Comma-separated: postmart, voso, storefront (default: all)."),
    OpenApiParameter("format", str, enum=["json", "csv", "xlsx"]),
]


class KpiApiMixin(ScopedQuerysetMixin):
    """Parameters, scope lookup (404 outside what the viewer may see), exports and the cached answers (kpi.answers)."""

    queryset = NamedScope.objects.all()
    renderer_classes = [JSONRenderer, exports.CsvRenderer, exports.XlsxRenderer]
    filter_backends: list = []
    pagination_class = None
    export_name = "kpi"

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to an unknown ?format=: a 404, where a 400 names the mistake
            raise serializers.ValidationError({"format": [_("Choose json, csv or xlsx.")]}) from None

    def handle_exception(self, exc):
        # Errors are JSON in the one error shape, whatever format was asked for.
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response

    def ask(self) -> Ask:
        params = self.request.query_params
        raw = params.get("scope", "").strip()
        if raw and not (raw.isdigit() and 0 < int(raw) < 2**63):
            raise serializers.ValidationError({"scope": [_("Give the id of a saved scope.")]})
        today = timezone.localdate()
        period = period_from_params(params, today=today)
        channels = channels_from_params(params)
        scope = generics.get_object_or_404(self.get_queryset(), pk=int(raw)) if raw else None
        return Ask(scope=scope, reach=user_reach(self.request.user), period=period, channels=channels, today=today)

    @property
    def exporting(self) -> bool:
        return getattr(self.request.accepted_renderer, "format", "json") in ("csv", "xlsx")

    def cached(self, ask: Ask, compute, **extra):
        """The answer's data, computed once per state of the data (kpi.answers)."""
        return answers.answer_data(self.kind, ask, compute, **extra)

    def respond(self, ask: Ask, build, **extra):
        """`build()` makes the Response; a JSON answer is also kept rendered (kpi.answers)."""
        if self.exporting:
            return build()
        return HttpResponse(answers.answer_rendered(self.kind, ask, lambda: build().data, **extra),
                            content_type="application/json")  # fmt: skip

    def export_filename(self, data) -> str:
        scope = (data.get("scope") or {}).get("slug", "all") if isinstance(data, dict) else "all"
        period = data.get("period", {}) if isinstance(data, dict) else {}
        return f"{self.export_name}-{scope}-{period.get('from', '')}-{period.get('to', '')}"


class KpiOnlineWithSalesApi(KpiApiMixin, generics.GenericAPIView):
    """The KPI "OCOP products online with sales" (domain.md §6) for a scope and a period: rate, numerator,
    denominator, online-only rate, the services line, breakdowns by star, product set, current and former
    commune and channel, gap counts by reason and data freshness per channel."""

    export_name = "kpi-online-with-sales"
    kind = answers.ONLINE_WITH_SALES

    @extend_schema(parameters=_COMMON, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, *args, **kwargs):
        ask = self.ask()
        compute = answers.computations(ask)[self.kind]
        return self.respond(ask, lambda: Response(self.cached(ask, compute)))

    def export_tables(self, data):
        return exports.kpi_tables(data)


class KpiGapsApi(KpiApiMixin, generics.GenericAPIView):
    """Every product of the KPI's denominator that is not in its numerator, with its reasons (not listed,
    listing rejected with the channel's reasons, listed but not live, live but unconfirmed, online without a
    completed order, certificate expiring within 90 days). Paginated; CSV and XLSX carry every row."""

    pagination_class = Pagination
    export_name = "kpi-gaps"
    kind = answers.GAPS

    @extend_schema(
        parameters=[
            *_COMMON,
            OpenApiParameter("reason", str, enum=list(GAP_REASONS)),
            OpenApiParameter("line", str, enum=["goods", "services"], description="Default goods."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, *args, **kwargs):
        ask = self.ask()
        reason, line = request.query_params.get("reason") or None, request.query_params.get("line") or "goods"
        if reason is not None and reason not in GAP_REASONS:
            raise serializers.ValidationError(
                {"reason": [_("Choose among: %(known)s.") % {"known": ", ".join(GAP_REASONS)}]}
            )
        if line not in ("goods", "services"):
            raise serializers.ValidationError({"line": [_("Choose goods or services.")]})
        head = {"scope": selectors.scope_ref(ask), "period": ask.period.as_dict(ask.today), "line": line}

        def build():
            rows = self.cached(ask, lambda: selectors.kpi_gaps(ask=ask, line=line, reason=reason), reason=reason,
                               line=line)  # fmt: skip
            if self.exporting:
                return Response({**head, "results": rows})
            response = self.get_paginated_response(self.paginate_queryset(rows))
            response.data = {**head, **response.data}
            return response

        params = request.query_params
        # A page carries absolute links to its neighbours: the host is part of what it is.
        return self.respond(ask, build, reason=reason, line=line, page=params.get("page"),
                            size=params.get("page_size"), host=request.get_host())  # fmt: skip

    def export_tables(self, data):
        return exports.gap_tables(data["results"])


class KpiFunnelApi(KpiApiMixin, generics.GenericAPIView):
    """The onboarding funnel of a scope's producers for a period, with the conversion at each step."""

    export_name = "kpi-funnel"
    kind = answers.FUNNEL

    @extend_schema(parameters=_COMMON, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, *args, **kwargs):
        ask = self.ask()
        compute = answers.computations(ask)[self.kind]
        return self.respond(ask, lambda: Response(self.cached(ask, compute)))

    def export_tables(self, data):
        return exports.funnel_tables(data)


class KpiTrendApi(KpiApiMixin, generics.GenericAPIView):
    """The KPI month by month (or quarter, year) over a period, with each one's sales."""

    export_name = "kpi-trend"
    kind = answers.TREND

    @extend_schema(
        parameters=[*_COMMON, OpenApiParameter("interval", str, enum=["month", "quarter", "year"])],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, *args, **kwargs):
        ask = self.ask()
        interval = interval_from_params(request.query_params)
        parts = buckets(ask.period, interval, today=ask.today)
        if len(parts) > 120:
            raise serializers.ValidationError({"interval": [_("Too many points: choose a longer interval.")]})
        trend = lambda: selectors.kpi_trend(ask=ask, buckets=parts, interval=interval)  # noqa: E731
        return self.respond(ask, lambda: Response(self.cached(ask, trend, interval=interval)), interval=interval)

    def export_tables(self, data):
        return exports.trend_tables(data)


class RollupStateSerializer(serializers.ModelSerializer):
    class Meta:
        model = RollupState
        fields = ["name", "cursor_at", "generation", "rebuild_after", "started_at", "finished_at", "rows", "error"]


class KpiRefreshApi(ScopedQuerysetMixin, generics.ListAPIView):
    """GET: how far each rollup has read its source. POST (officers, administrators): refresh the rollups now,
    in the background (202); beat does it every few minutes anyway."""

    queryset = RollupState.objects.all()
    serializer_class = RollupStateSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(request=None, responses={202: RollupStateSerializer(many=True)})
    def post(self, request, *args, **kwargs):
        if not user_reach(request.user).has_role(Role.OFFICER):
            raise ServiceError("permission_denied", _("Only officers can refresh the KPI."), status_code=403)
        from .tasks import kpi_refresh_task

        transaction.on_commit(kpi_refresh_task.delay)
        states = scope_queryset(RollupState.objects.all(), request.user)
        return Response(RollupStateSerializer(states, many=True).data, status=status.HTTP_202_ACCEPTED)
