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
