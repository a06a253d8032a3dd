/* Internal: the type tables shared by schema_*.c (not part of the API layer's interface). */
#ifndef DRV_API_SCHEMA_TYPES_H
#define DRV_API_SCHEMA_TYPES_H

#include "api/schema.h"

/* Field constructors for compact tables. */
#define F_STR(n, d) {n, DRV_S_STRING, 0, NULL, NULL, 0, d}
#define F_STR_REQ(n, d) {n, DRV_S_STRING, 0, NULL, NULL, DRV_SF_REQUIRED, d}
#define F_INT(n, d) {n, DRV_S_INT, 0, NULL, NULL, 0, d}
#define F_INT_REQ(n, d) {n, DRV_S_INT, 0, NULL, NULL, DRV_SF_REQUIRED, d}
#define F_NUM(n, d) {n, DRV_S_NUMBER, 0, NULL, NULL, 0, d}
#define F_BOOL(n, d) {n, DRV_S_BOOL, 0, NULL, NULL, 0, d}
#define F_QTY(n, d) {n, DRV_S_QUANTITY, 0, NULL, NULL, 0, d}
#define F_IOS(n, d) {n, DRV_S_INT_OR_STRING, 0, NULL, NULL, 0, d}
#define F_IOS_REQ(n, d) {n, DRV_S_INT_OR_STRING, 0, NULL, NULL, DRV_SF_REQUIRED, d}
#define F_TIME(n, d) {n, DRV_S_TIME, 0, NULL, NULL, 0, d}
#define F_ANY(n, d) {n, DRV_S_ANY, 0, NULL, NULL, 0, d}
#define F_OBJ(n, t, d) {n, DRV_S_OBJECT, 0, &t, NULL, 0, d}
#define F_OBJ_REQ(n, t, d) {n, DRV_S_OBJECT, 0, &t, NULL, DRV_SF_REQUIRED, d}
#define F_OBJ_RK(n, t, d) {n, DRV_S_OBJECT, 0, &t, NULL, DRV_SF_RETAIN_KEYS, d}
/* list of structs merged by key (strategic merge), or atomic when key is NULL */
#define F_LIST(n, t, key, d) {n, DRV_S_ARRAY, DRV_S_OBJECT, &t, key, 0, d}
#define F_LIST_REQ(n, t, key, d) {n, DRV_S_ARRAY, DRV_S_OBJECT, &t, key, DRV_SF_REQUIRED, d}
#define F_LIST_RK(n, t, key, d) {n, DRV_S_ARRAY, DRV_S_OBJECT, &t, key, DRV_SF_RETAIN_KEYS, d}
#define F_STRS(n, d) {n, DRV_S_ARRAY, DRV_S_STRING, NULL, NULL, 0, d}
#define F_STRS_SET(n, d) {n, DRV_S_ARRAY, DRV_S_STRING, NULL, NULL, DRV_SF_MERGE, d}
#define F_LIST_OF(n, k, d) {n, DRV_S_ARRAY, k, NULL, NULL, 0, d}
#define F_MAP_STR(n, d) {n, DRV_S_MAP, DRV_S_STRING, NULL, NULL, 0, d}
#define F_MAP_QTY(n, d) {n, DRV_S_MAP, DRV_S_QUANTITY, NULL, NULL, 0, d}
#define F_MAP_OBJ(n, t, d) {n, DRV_S_MAP, DRV_S_OBJECT, &t, NULL, 0, d}
#define F_END {NULL, 0, 0, NULL, NULL, 0, NULL}

#define TYPE(var, nm, d, ...) \
  const drv_schema_type var = {nm, d, (const drv_schema_field[]){__VA_ARGS__, F_END}, false}
#define TYPE_OPEN(var, nm, d, ...) \
  const drv_schema_type var = {nm, d, (const drv_schema_field[]){__VA_ARGS__, F_END}, true}

/* meta */
extern const drv_schema_type drv_t_ObjectMeta, drv_t_ListMeta, drv_t_LabelSelector,
    drv_t_OwnerReference, drv_t_ManagedFieldsEntry, drv_t_LabelSelectorRequirement,
    drv_t_Condition;
/* core */
extern const drv_schema_type drv_t_Pod, drv_t_PodSpec, drv_t_PodStatus, drv_t_PodTemplateSpec,
    drv_t_Container, drv_t_Namespace, drv_t_Node, drv_t_Service, drv_t_Endpoints,
    drv_t_ConfigMap, drv_t_Secret, drv_t_ServiceAccount, drv_t_Event, drv_t_ObjectReference,
    drv_t_LocalObjectReference, drv_t_EventSource;
/* nested pod types (schema_podextra.c) */
extern const drv_schema_type drv_t_Affinity, drv_t_PodSecurityContext, drv_t_SecurityContext,
    drv_t_Lifecycle, drv_t_ConfigMapVolumeSource, drv_t_SecretVolumeSource,
    drv_t_EmptyDirVolumeSource, drv_t_HostPathVolumeSource, drv_t_PVCVolumeSource,
    drv_t_DownwardAPIVolumeSource, drv_t_ProjectedVolumeSource, drv_t_ConfigMapEnvSource,
    drv_t_SecretEnvSource, drv_t_PodDNSConfig, drv_t_ExecAction, drv_t_HTTPGetAction,
    drv_t_TCPSocketAction, drv_t_GRPCAction, drv_t_ObjectFieldSelector,
    drv_t_ResourceFieldSelector;
/* other groups */
extern const drv_schema_type drv_t_Deployment, drv_t_ReplicaSet, drv_t_EventsV1Event,
    drv_t_HPAv2, drv_t_HPAv1, drv_t_Lease, drv_t_EndpointSlice, drv_t_NodeMetrics,
    drv_t_PodMetrics, drv_t_Scale;
/* rbac.authorization.k8s.io/v1 (schema_rbac.c) */
extern const drv_schema_type drv_t_Role, drv_t_ClusterRole, drv_t_RoleBinding,
    drv_t_ClusterRoleBinding, drv_t_SelfSubjectAccessReview, drv_t_SubjectAccessReview,
    drv_t_LocalSubjectAccessReview, drv_t_SelfSubjectRulesReview, drv_t_SelfSubjectReview,
    drv_t_TokenReview, drv_t_TokenRequest;

#endif
