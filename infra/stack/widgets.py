"""The dashboard's grid and widgets (`Dashboard`): text sections, alarm status, graphs and metric searches. A graph
of a metric some alarm watches draws at the alarm's period, with the alarm's threshold as a labelled line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import metrics

GRID_WIDTH = 24
DEFAULT_PERIOD_S = 300
MAX_ALARMS_PER_WIDGET = 100  # CloudWatch's limit for one alarm status widget
COMPARISON_SIGNS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


def fn_sub_text(value: object) -> str:
    """A template expression as Fn::Sub text: {"Ref": "X"} -> "${X}", {"Fn::GetAtt": ["X", "A"]} (or "X.A") ->
    "${X.A}"; a string stays itself."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"${{{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{{'.'.join(argument if isinstance(argument, list) else [argument])}}}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return argument
    raise ValueError(f"no Fn::Sub form for {value!r}")


@dataclass(frozen=True)
class Line:
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, Any], ...]
    stat: str
    label: str
    right: bool = False  # on the right y axis (another unit than the widget's alarmed metrics)


def line(
    namespace: str, metric: str, dimensions: dict[str, Any], stat: str, label: str = "", *, right: bool = False
) -> Line:
    return Line(namespace, metric, tuple(dimensions.items()), stat, label or metric, right)


def custom(
    metric: str, stat: str = "Sum", label: str = "", dimensions: dict[str, str] | None = None, *, right: bool = False
) -> Line:
    return line(metrics.NAMESPACE, metric, dimensions or {}, stat, label, right=right)


class Dashboard:
    def __init__(self, resources: dict[str, Any]) -> None:
        self._resources = resources
        self.widgets: list[dict[str, Any]] = []
        self.drawn: set[str] = set()  # custom metrics with a widget
        self._x = self._y = self._row_height = 0

    def _alarms_watching(self, drawn: Line) -> list[tuple[str, dict[str, Any]]]:
        return [
            (name, p)
            for name, r in self._resources.items()
            if r["Type"] == "AWS::CloudWatch::Alarm"
            and ((p := r["Properties"])["Namespace"], p["MetricName"]) == (drawn.namespace, drawn.metric)
            and {d["Name"]: d["Value"] for d in p["Dimensions"]} == dict(drawn.dimensions)
            and p.get("ExtendedStatistic", p.get("Statistic")) == drawn.stat
        ]

    def _place(self, widget: dict[str, Any]) -> None:
        if self._x + widget["width"] > GRID_WIDTH:
            self._x, self._y, self._row_height = 0, self._y + self._row_height, 0
        self.widgets.append({**widget, "x": self._x, "y": self._y})
        self._x += widget["width"]
        self._row_height = max(self._row_height, widget["height"])

    def section(self, title: str, markdown: str) -> None:
        if self._x:
            self._x, self._y, self._row_height = 0, self._y + self._row_height, 0
        height = 1 + (len(markdown) // 190 + 1 if markdown else 0)
        text = f"## {title}\n{markdown}" if markdown else f"## {title}"
        self._place({"type": "text", "width": GRID_WIDTH, "height": height, "properties": {"markdown": text}})

    def alarm_status(self, title: str) -> None:
        alarms = [f"${{{name}.Arn}}" for name, r in self._resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"]
        for start in range(0, len(alarms), MAX_ALARMS_PER_WIDGET):
            chunk = alarms[start : start + MAX_ALARMS_PER_WIDGET]
            self._place(
                {
                    "type": "alarm",
                    "width": GRID_WIDTH,
                    "height": 2 + len(chunk) // 4,
                    "properties": {"title": title, "alarms": chunk, "sortBy": "stateUpdatedTimestamp"},
                }
            )

    def graph(
        self,
        title: str,
        lines: list[Line],
        *,
        width: int = 8,
        period: int = DEFAULT_PERIOD_S,
        limits: tuple[tuple[str, float], ...] = (),  # (label, value): lines that are not alarms (timeouts, pools)
    ) -> None:
        metrics_array: list[list[Any]] = []
        annotations: list[dict[str, Any]] = [{"label": label, "value": value} for label, value in limits]
        for drawn in lines:
            options: dict[str, Any] = {"label": drawn.label, "stat": drawn.stat, "period": period}
            for name, alarm_properties in self._alarms_watching(drawn):
                options["period"] = alarm_properties["Period"]
                sign = COMPARISON_SIGNS[alarm_properties["ComparisonOperator"]]
                threshold = alarm_properties["Threshold"]
                annotations.append(
                    {
                        "label": f"{name}: {drawn.stat} per {alarm_properties['Period']} s {sign} {threshold}",
                        "value": threshold,
                    }
                )
            if drawn.right:
                options["yAxis"] = "right"
            if drawn.namespace == metrics.NAMESPACE:
                self.drawn.add(drawn.metric)
            flat = [part for name, value in drawn.dimensions for part in (name, fn_sub_text(value))]
            metrics_array.append([drawn.namespace, drawn.metric, *flat, options])
        properties: dict[str, Any] = {
            "title": title,
            "view": "timeSeries",
            "region": "${AWS::Region}",
            "period": period,
            "metrics": metrics_array,
            "yAxis": {"left": {"min": 0}, "right": {"min": 0}},
        }
        if annotations:
            properties["annotations"] = {"horizontal": annotations}
        self._place({"type": "metric", "width": width, "height": 6, "properties": properties})

    def search(self, title: str, metric: str, dimension_names: tuple[str, ...] | None, *, width: int = 12) -> None:
        """One line per dimension value the app has emitted (routes: too many and too open to list here); without
        dimension names, one line per dimension set the metric was emitted with."""
        if dimension_names is None:
            where, query_id = f'Namespace="{metrics.NAMESPACE}"', "any"
        else:
            where, query_id = (
                "{" + ",".join((metrics.NAMESPACE, *dimension_names)) + "}",
                "by_" + "_".join(dimension_names),
            )
        expression = f"SEARCH('{where} MetricName=\"{metric}\"', 'Sum', {DEFAULT_PERIOD_S})"
        self.drawn.add(metric)
        properties = {
            "title": title,
            "view": "timeSeries",
            "region": "${AWS::Region}",
            "period": DEFAULT_PERIOD_S,
            "metrics": [[{"expression": expression, "id": query_id}]],
            "yAxis": {"left": {"min": 0}},
        }
        self._place({"type": "metric", "width": width, "height": 6, "properties": properties})

