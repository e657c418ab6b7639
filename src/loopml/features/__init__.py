"""The feature store: feature groups, an offline store (Parquet + DuckDB point-in-time joins) and an online
store (SQLite or Redis) kept in step by ingest and materialize.

Typical use::

    from loopml.features import FeatureGroup, register_feature_group, ingest, get_training_set
    fg = FeatureGroup("customer", entity_keys=["customer_id"], event_time="ts",
                      features={"spend_7d": "float64"})
    register_feature_group(fg)
    ingest("customer", df)
    train = get_training_set(labels, ["customer:spend_7d"])
"""

from __future__ import annotations

from loopml.features.group import FEATURE_TYPES, KEY_TYPES, FeatureGroup, FeatureGroupInfo
from loopml.features.ingest import IngestResult, ingest
from loopml.features.materialize import MaterializeResult, get_online_features, get_watermark, materialize
from loopml.features.online import (
    OnlineRecord,
    OnlineRow,
    OnlineStore,
    close_online_stores,
    open_online_store,
)
from loopml.features.registry import (
    FeatureGroupStats,
    describe_feature_group,
    get_feature_group,
    list_feature_groups,
    register_feature_group,
)
from loopml.features.training import get_training_set

__all__ = [
    "FEATURE_TYPES",
    "KEY_TYPES",
    "FeatureGroup",
    "FeatureGroupInfo",
    "FeatureGroupStats",
    "IngestResult",
    "MaterializeResult",
    "OnlineRecord",
    "OnlineRow",
    "OnlineStore",
    "close_online_stores",
    "describe_feature_group",
    "get_feature_group",
    "get_online_features",
    "get_training_set",
    "get_watermark",
    "ingest",
    "list_feature_groups",
    "materialize",
    "open_online_store",
    "register_feature_group",
]
