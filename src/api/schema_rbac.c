/* Type tables: rbac.authorization.k8s.io/v1 (schema.h). */
#include "api/schema_types.h"

extern const drv_schema_type drv_t_PolicyRule, drv_t_AggregationRule, drv_t_RoleRef,
    drv_t_Subject;

#define TYPEMETA                                                                               \
  F_STR("apiVersion", "Versioned schema of this representation of an object."),                \
      F_STR("kind", "REST resource this object represents."),                                   \
      F_OBJ("metadata", drv_t_ObjectMeta, "Standard object's metadata.")

TYPE(drv_t_PolicyRule, "io.k8s.api.rbac.v1.PolicyRule",
     "PolicyRule holds information that describes a policy rule, but does not contain "
     "information about who the rule applies to or which namespace the rule applies to.",
     F_STRS("apiGroups", "The API groups that contain the resources; \"\" is the core group, "
                         "\"*\" all groups."),
     F_STRS("nonResourceURLs", "Partial URLs a user may reach (\"/healthz\", \"/api/*\"); only "
                               "in ClusterRoles bound with ClusterRoleBindings."),
     F_STRS("resourceNames", "An optional allow list of names the rule applies to."),
     F_STRS("resources", "Resources the rule applies to (\"pods\", \"pods/log\", \"*\")."),
     F_STRS("verbs", "Verbs that apply to all the resources (get list watch create update "
                     "patch delete deletecollection, \"*\" all). Required."));

TYPE(drv_t_AggregationRule, "io.k8s.api.rbac.v1.AggregationRule",
     "Describes how to locate ClusterRoles to aggregate into the ClusterRole.",
     F_LIST("clusterRoleSelectors", drv_t_LabelSelector, NULL,
            "Selectors of the ClusterRoles whose rules are added to this one's."));

TYPE(drv_t_Role, "io.k8s.api.rbac.v1.Role",
     "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit "
     "by a RoleBinding.",
     TYPEMETA, F_LIST("rules", drv_t_PolicyRule, NULL, "All the PolicyRules for this Role."));

TYPE(drv_t_ClusterRole, "io.k8s.api.rbac.v1.ClusterRole",
     "ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced "
     "as a unit by a RoleBinding or ClusterRoleBinding.",
     TYPEMETA,
     F_OBJ("aggregationRule", drv_t_AggregationRule,
           "Describes how to build the Rules for this ClusterRole."),
     F_LIST("rules", drv_t_PolicyRule, NULL, "All the PolicyRules for this ClusterRole."));

TYPE(drv_t_RoleRef, "io.k8s.api.rbac.v1.RoleRef", "Contains information that points to the role being used.",
     F_STR_REQ("apiGroup", "The group for the resource being referenced."),
     F_STR_REQ("kind", "Role or ClusterRole."), F_STR_REQ("name", "Name of the role."));

TYPE(drv_t_Subject, "io.k8s.api.rbac.v1.Subject",
     "A reference to an identity: a user, a group or a service account.",
     F_STR("apiGroup", "\"\" for ServiceAccount, \"rbac.authorization.k8s.io\" for User and Group."),
     F_STR_REQ("kind", "User, Group or ServiceAccount."), F_STR_REQ("name", "Name of the object."),
     F_STR("namespace", "Namespace of a ServiceAccount subject."));

TYPE(drv_t_RoleBinding, "io.k8s.api.rbac.v1.RoleBinding",
     "RoleBinding references a role, but does not contain it. It adds who information via "
     "Subjects and namespace information by which namespace it exists in.",
     TYPEMETA,
     F_OBJ_REQ("roleRef", drv_t_RoleRef,
               "A Role in the current namespace or a ClusterRole. Immutable."),
     F_LIST("subjects", drv_t_Subject, NULL, "The identities the role applies to."));

TYPE(drv_t_ClusterRoleBinding, "io.k8s.api.rbac.v1.ClusterRoleBinding",
     "ClusterRoleBinding references a ClusterRole, but not contain it. It adds who information "
     "via Subjects.",
     TYPEMETA,
     F_OBJ_REQ("roleRef", drv_t_RoleRef, "A ClusterRole in the global namespace. Immutable."),
     F_LIST("subjects", drv_t_Subject, NULL, "The identities the role applies to."));

/* authorization.k8s.io/v1 and authentication.k8s.io/v1: the reviews (answered, never stored) */
extern const drv_schema_type drv_t_ResourceAttributes, drv_t_NonResourceAttributes, drv_t_SSARSpec,
    drv_t_SARSpec, drv_t_SARStatus, drv_t_SSRRSpec, drv_t_ResourceRule, drv_t_NonResourceRule,
    drv_t_RulesStatus, drv_t_UserInfo, drv_t_SSRStatus;

TYPE(drv_t_ResourceAttributes, "io.k8s.api.authorization.v1.ResourceAttributes",
     "The attributes of a resource request to authorize.",
     F_STR("group", "API group of the resource; \"*\" means all."), F_STR("name", "Name of the object."),
     F_STR("namespace", "Namespace of the request; \"\" for cluster-scoped resources or all namespaces."),
     F_STR("resource", "Resource plural; \"*\" means all."), F_STR("subresource", "Subresource (\"log\", \"scale\")."),
     F_STR("verb", "get list watch create update patch delete deletecollection, or \"*\"."),
     F_STR("version", "API version of the resource."), F_ANY("fieldSelector", "Not evaluated."),
     F_ANY("labelSelector", "Not evaluated."));

TYPE(drv_t_NonResourceAttributes, "io.k8s.api.authorization.v1.NonResourceAttributes",
     "The attributes of a non-resource request to authorize.", F_STR("path", "URL path of the request."),
     F_STR("verb", "Standard HTTP verb in lower case."));

TYPE(drv_t_SSARSpec, "io.k8s.api.authorization.v1.SelfSubjectAccessReviewSpec",
     "What to authorize for the caller: exactly one of resourceAttributes or nonResourceAttributes.",
     F_OBJ("nonResourceAttributes", drv_t_NonResourceAttributes, "A non-resource request."),
     F_OBJ("resourceAttributes", drv_t_ResourceAttributes, "A resource request."));

TYPE(drv_t_SARSpec, "io.k8s.api.authorization.v1.SubjectAccessReviewSpec",
     "What to authorize for whom: a user and/or groups, and a resource or non-resource request.",
     F_ANY("extra", "Not evaluated."), F_STRS("groups", "Groups of the identity."),
     F_OBJ("nonResourceAttributes", drv_t_NonResourceAttributes, "A non-resource request."),
     F_OBJ("resourceAttributes", drv_t_ResourceAttributes, "A resource request."),
     F_STR("uid", "Not evaluated."), F_STR("user", "User name of the identity."));

TYPE(drv_t_SARStatus, "io.k8s.api.authorization.v1.SubjectAccessReviewStatus", "The answer.",
     F_BOOL("allowed", "Whether the action is allowed."), F_BOOL("denied", "Whether it is explicitly denied."),
     F_STR("evaluationError", "Errors met while evaluating."), F_STR("reason", "Why it is allowed."));

TYPE(drv_t_SelfSubjectAccessReview, "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
     "Whether the caller may perform an action (kubectl auth can-i).", TYPEMETA,
     F_OBJ_REQ("spec", drv_t_SSARSpec, "The action."), F_OBJ("status", drv_t_SARStatus, "The answer."));

TYPE(drv_t_SubjectAccessReview, "io.k8s.api.authorization.v1.SubjectAccessReview",
     "Whether a user or group may perform an action.", TYPEMETA,
     F_OBJ_REQ("spec", drv_t_SARSpec, "The identity and the action."), F_OBJ("status", drv_t_SARStatus, "The answer."));

TYPE(drv_t_LocalSubjectAccessReview, "io.k8s.api.authorization.v1.LocalSubjectAccessReview",
     "Whether a user or group may perform an action in the review's namespace.", TYPEMETA,
     F_OBJ_REQ("spec", drv_t_SARSpec, "The identity and the action."), F_OBJ("status", drv_t_SARStatus, "The answer."));

TYPE(drv_t_SSRRSpec, "io.k8s.api.authorization.v1.SelfSubjectRulesReviewSpec", "Where to list the rules.",
     F_STR("namespace", "Namespace to evaluate the rules in."));

TYPE(drv_t_ResourceRule, "io.k8s.api.authorization.v1.ResourceRule", "What the caller may do with resources.",
     F_STRS("apiGroups", "API groups."), F_STRS("resourceNames", "Names, when limited."),
     F_STRS("resources", "Resources."), F_STRS("verbs", "Verbs."));

TYPE(drv_t_NonResourceRule, "io.k8s.api.authorization.v1.NonResourceRule", "What the caller may do with URLs.",
     F_STRS("nonResourceURLs", "Partial URLs."), F_STRS("verbs", "Verbs."));

TYPE(drv_t_RulesStatus, "io.k8s.api.authorization.v1.SubjectRulesReviewStatus", "The caller's rules.",
     F_STR("evaluationError", "Errors met while evaluating."), F_BOOL("incomplete", "Whether the list is partial."),
     F_LIST("nonResourceRules", drv_t_NonResourceRule, NULL, "Non-resource rules."),
     F_LIST("resourceRules", drv_t_ResourceRule, NULL, "Resource rules."));

TYPE(drv_t_SelfSubjectRulesReview, "io.k8s.api.authorization.v1.SelfSubjectRulesReview",
     "The caller's rules in a namespace (kubectl auth can-i --list).", TYPEMETA,
     F_OBJ_REQ("spec", drv_t_SSRRSpec, "Where."), F_OBJ("status", drv_t_RulesStatus, "The rules."));

TYPE(drv_t_UserInfo, "io.k8s.api.authentication.v1.UserInfo", "An identity.",
     F_ANY("extra", "Not set."), F_STRS("groups", "Groups of the identity."), F_STR("uid", "Not set."),
     F_STR("username", "User name."));

TYPE(drv_t_SSRStatus, "io.k8s.api.authentication.v1.SelfSubjectReviewStatus", "Who the caller is.",
     F_OBJ("userInfo", drv_t_UserInfo, "The caller's identity."));

TYPE(drv_t_SelfSubjectReview, "io.k8s.api.authentication.v1.SelfSubjectReview",
     "Who the caller is (kubectl auth whoami).", TYPEMETA, F_OBJ("status", drv_t_SSRStatus, "The answer."));

/* authentication.k8s.io/v1 TokenReview and TokenRequest (serviceaccounts/token) */
extern const drv_schema_type drv_t_TokenReviewSpec, drv_t_TokenReviewStatus, drv_t_BoundObjectRef,
    drv_t_TokenRequestSpec, drv_t_TokenRequestStatus;

TYPE(drv_t_TokenReviewSpec, "io.k8s.api.authentication.v1.TokenReviewSpec", "The token to authenticate.",
     F_STRS("audiences", "Audiences the token must be meant for; the server's own when empty."),
     F_STR("token", "The opaque bearer token."));

TYPE(drv_t_TokenReviewStatus, "io.k8s.api.authentication.v1.TokenReviewStatus", "The answer.",
     F_STRS("audiences", "Audiences the token is valid for."),
     F_BOOL("authenticated", "Whether the token is valid."), F_STR("error", "Why it is not."),
     F_OBJ("user", drv_t_UserInfo, "Whom the token belongs to."));

TYPE(drv_t_TokenReview, "io.k8s.api.authentication.v1.TokenReview",
     "Authenticates a token: who it belongs to, if anyone.", TYPEMETA,
     F_OBJ_REQ("spec", drv_t_TokenReviewSpec, "The token."),
     F_OBJ("status", drv_t_TokenReviewStatus, "The answer."));

TYPE(drv_t_BoundObjectRef, "io.k8s.api.authentication.v1.BoundObjectReference",
     "The object a token is bound to: the token stops authenticating when it is deleted.",
     F_STR("apiVersion", "API version of the object (v1)."), F_STR("kind", "Pod or Secret."),
     F_STR("name", "Name of the object."), F_STR("uid", "UID of the object."));

TYPE(drv_t_TokenRequestSpec, "io.k8s.api.authentication.v1.TokenRequestSpec", "The token asked for.",
     F_STRS("audiences", "Audiences the token is meant for; the API server's when empty."),
     F_OBJ("boundObjectRef", drv_t_BoundObjectRef, "The object the token is bound to."),
     F_INT("expirationSeconds", "Lifetime in seconds: at least 600, 3600 by default."));

TYPE(drv_t_TokenRequestStatus, "io.k8s.api.authentication.v1.TokenRequestStatus", "The token.",
     F_TIME("expirationTimestamp", "When the token expires."), F_STR("token", "The token (a signed JWT)."));

TYPE(drv_t_TokenRequest, "io.k8s.api.authentication.v1.TokenRequest",
     "Requests a token for a service account (serviceaccounts/token).", TYPEMETA,
     F_OBJ_REQ("spec", drv_t_TokenRequestSpec, "The token asked for."),
     F_OBJ("status", drv_t_TokenRequestStatus, "The token."));
