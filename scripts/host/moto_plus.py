#!/usr/bin/env python3
"""moto_server with the ElastiCache operations `infragen verify` reads and moto lacks.

  moto_plus.py -H HOST -p PORT      moto_serve.py's command line (moto.sh runs it, with the
                                    host venv's python, when INFRAGEN_MOTO_PLUS=1)

Why: moto 5.2.5 has no cache parameter groups, no user groups, and no cache clusters for a
replication group's members, so infragen verify's ElastiCache test could only see those
reads fail. This adds them to moto's ElastiCacheResponse, over a small store kept on each
account/region's backend (so moto's reset clears it too):
  - Create/Modify/Delete/DescribeCacheParameterGroup(s), DescribeCacheParameters (the
    parameters set, with Source "user");
  - Create/Modify/Delete/DescribeUserGroup(s);
  - DescribeCacheClusters of a member (<group>-001, ...), made up from its group;
  - ModifyReplicationGroup's CacheParameterGroupName, UserGroupIdsToAdd/Remove and
    PreferredMaintenanceWindow (recorded on moto's group, then moto's own handling, so
    DescribeReplicationGroups shows UserGroupIds).
Replies are dicts shaped as botocore's elasticache model, which moto serialises.
"""

import moto_serve
from moto.core.responses import ActionResult, EmptyResult, PaginatedResult
from moto.elasticache.exceptions import ElastiCacheException, UserNotFound
from moto.elasticache.responses import ElastiCacheResponse

R = ElastiCacheResponse
moto_describe_cache_clusters = R.describe_cache_clusters
moto_modify_replication_group = R.modify_replication_group


def store(self):
    backend = self.elasticache_backend
    if not hasattr(backend, "plus"):
        backend.plus = {"parameter_groups": {}, "parameters": {}, "user_groups": {}}
    return backend.plus


def arn(self, kind, name):
    return f"arn:aws:elasticache:{self.region}:{self.current_account}:{kind}:{name}"


def found(table, key, code, what):
    if key not in table:
        raise ElastiCacheException(code, f"{what} {key} not found.")
    return table[key]


def absent(table, key, code, what):
    if key in table:
        raise ElastiCacheException(code, f"{what} {key} already exists.")


# ---- Cache parameter groups -------------------------------------------------------------


def parameter_group(self, name):
    groups = store(self)["parameter_groups"]
    return found(groups, name, "CacheParameterGroupNotFound", "CacheParameterGroup")


def create_cache_parameter_group(self):
    name = self._get_param("CacheParameterGroupName")
    absent(store(self)["parameter_groups"], name, "CacheParameterGroupAlreadyExists", "Group")
    group = {
        "CacheParameterGroupName": name,
        "CacheParameterGroupFamily": self._get_param("CacheParameterGroupFamily"),
        "Description": self._get_param("Description"),
        "IsGlobal": False,
        "ARN": arn(self, "parametergroup", name),
    }
    store(self)["parameter_groups"][name] = group
    store(self)["parameters"][name] = {}
    return ActionResult({"CacheParameterGroup": group})


def modify_cache_parameter_group(self):
    name = self._get_param("CacheParameterGroupName")
    parameter_group(self, name)
    for p in self._get_param("ParameterNameValues") or []:
        store(self)["parameters"][name][p["ParameterName"]] = p["ParameterValue"]
    return ActionResult({"CacheParameterGroupName": name})


def describe_cache_parameters(self):
    name = self._get_param("CacheParameterGroupName")
    parameter_group(self, name)
    source = self._get_param("Source")
    parameters = [
        {"ParameterName": k, "ParameterValue": v, "Source": "user", "DataType": "string"}
        | {"IsModifiable": True, "ChangeType": "immediate"}
        for k, v in sorted(store(self)["parameters"][name].items())
    ]
    return ActionResult({"Parameters": parameters if source in (None, "user") else []})


def describe_cache_parameter_groups(self):
    name = self._get_param("CacheParameterGroupName")
    groups = store(self)["parameter_groups"]
    chosen = [parameter_group(self, name)] if name else list(groups.values())
    return ActionResult({"CacheParameterGroups": chosen})


def delete_cache_parameter_group(self):
    name = self._get_param("CacheParameterGroupName")
    parameter_group(self, name)
    del store(self)["parameter_groups"][name], store(self)["parameters"][name]
    return EmptyResult()


# ---- User groups ------------------------------------------------------------------------


def user_group(self, group_id):
    """A user group as DescribeUserGroups shows it, with the replication groups using it."""
    group = found(store(self)["user_groups"], group_id, "UserGroupNotFound", "User group")
    using = self.elasticache_backend.replication_groups.values()
    group["ReplicationGroups"] = [
        g.replication_group_id for g in using if group_id in g.user_group_ids
    ]
    return group


def known_users(self, user_ids):
    for user_id in user_ids:
        if user_id not in self.elasticache_backend.users:
            raise UserNotFound(user_id)
    return list(user_ids)


def create_user_group(self):
    group_id = self._get_param("UserGroupId")
    absent(store(self)["user_groups"], group_id, "UserGroupAlreadyExists", "User group")
    store(self)["user_groups"][group_id] = {
        "UserGroupId": group_id,
        "Status": "active",
        "Engine": (self._get_param("Engine") or "redis").lower(),
        "UserIds": known_users(self, self._get_param("UserIds") or []),
        "MinimumEngineVersion": "6.0",
        "ServerlessCaches": [],
        "ARN": arn(self, "usergroup", group_id),
    }
    return ActionResult(user_group(self, group_id))


def describe_user_groups(self):
    group_id = self._get_param("UserGroupId")
    ids = [group_id] if group_id else list(store(self)["user_groups"])
    return ActionResult({"UserGroups": [user_group(self, i) for i in ids]})


def modify_user_group(self):
    group = user_group(self, self._get_param("UserGroupId"))
    removed = set(self._get_param("UserIdsToRemove") or [])
    added = known_users(self, self._get_param("UserIdsToAdd") or [])
    kept = [u for u in group["UserIds"] if u not in removed]
    group["UserIds"] = kept + [u for u in added if u not in kept]
    return ActionResult(group)


def delete_user_group(self):
    group = user_group(self, self._get_param("UserGroupId"))
    del store(self)["user_groups"][group["UserGroupId"]]
    return ActionResult(group | {"Status": "deleting"})


# ---- Replication groups and their member clusters ----------------------------------------


def member_cluster(self, group, cluster_id):
    """A member of a replication group as DescribeCacheClusters shows it."""
    engine = group.engine or "redis"
    version = group.engine_version or "7.1"
    default_parameters = f"default.{engine}{version.split('.')[0]}"
    return {
        "CacheClusterId": cluster_id,
        "ReplicationGroupId": group.replication_group_id,
        "CacheClusterStatus": "available",
        "Engine": engine,
        "EngineVersion": version,
        "CacheNodeType": group.cache_node_type,
        "NumCacheNodes": 1,
        "CacheClusterCreateTime": group.replication_group_create_time,
        "PreferredMaintenanceWindow": group.preferred_maintenance_window or "sun:05:00-sun:06:00",
        "AutoMinorVersionUpgrade": str(group.auto_minor_version_upgrade).lower() != "false",
        "CacheParameterGroup": {
            "CacheParameterGroupName": group.cache_parameter_group_name or default_parameters,
            "ParameterApplyStatus": "in-sync",
            "CacheNodeIdsToReboot": [],
        },
        "SnapshotWindow": group.snapshot_window,
        "TransitEncryptionEnabled": group.transit_encryption_enabled,
        "AtRestEncryptionEnabled": group.at_rest_encryption_enabled,
        "AuthTokenEnabled": group.auth_token_enabled,
        "ARN": arn(self, "cluster", cluster_id),
    }


def describe_cache_clusters(self):
    groups = self.elasticache_backend.replication_groups.values()
    members = [member_cluster(self, g, m) for g in groups for m in g.member_clusters]
    cluster_id = self._get_param("CacheClusterId")
    if not cluster_id:
        clusters = self.elasticache_backend.describe_cache_clusters(cache_cluster_id=None)
        return PaginatedResult({"CacheClusters": clusters + members})
    chosen = [c for c in members if c["CacheClusterId"] == cluster_id]
    if chosen and cluster_id not in self.elasticache_backend.cache_clusters:
        return ActionResult({"CacheClusters": chosen})
    return moto_describe_cache_clusters(self)


def modify_replication_group(self):
    group_id = self._get_param("ReplicationGroupId")
    group = self.elasticache_backend.describe_replication_groups(group_id)[0]
    if name := self._get_param("CacheParameterGroupName"):
        group.cache_parameter_group_name = parameter_group(self, name)["CacheParameterGroupName"]
    for user_group_id in self._get_param("UserGroupIdsToAdd") or []:
        user_group(self, user_group_id)
        if user_group_id not in group.user_group_ids:
            group.user_group_ids.append(user_group_id)
    removed = set(self._get_param("UserGroupIdsToRemove") or [])
    group.user_group_ids = [i for i in group.user_group_ids if i not in removed]
    if window := self._get_param("PreferredMaintenanceWindow"):
        group.preferred_maintenance_window = window
    return moto_modify_replication_group(self)


for added in (
    create_cache_parameter_group,
    modify_cache_parameter_group,
    describe_cache_parameters,
    describe_cache_parameter_groups,
    delete_cache_parameter_group,
    create_user_group,
    describe_user_groups,
    modify_user_group,
    delete_user_group,
    describe_cache_clusters,
    modify_replication_group,
):
    setattr(R, added.__name__, added)


if __name__ == "__main__":
    moto_serve.main()
