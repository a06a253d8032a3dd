/* Type tables: the nested pod types (affinity, security contexts, probe handlers, lifecycle,
 * volume sources, env sources). They stay open to unknown fields (drover passes them to the
 * agent as they are) but list their properties, which kubectl's patch computation walks. */
#include "api/schema_types.h"

extern const drv_schema_type drv_t_NodeSelectorRequirement, drv_t_NodeSelectorTerm,
    drv_t_NodeSelector, drv_t_PreferredSchedulingTerm, drv_t_NodeAffinity, drv_t_PodAffinityTerm,
    drv_t_WeightedPodAffinityTerm, drv_t_PodAffinity, drv_t_SeccompProfile, drv_t_SELinuxOptions,
    drv_t_Sysctl, drv_t_Capabilities, drv_t_HTTPHeader, drv_t_ExecAction, drv_t_HTTPGetAction,
    drv_t_TCPSocketAction, drv_t_GRPCAction, drv_t_SleepAction, drv_t_LifecycleHandler,
    drv_t_KeyToPath, drv_t_ObjectFieldSelector, drv_t_ResourceFieldSelector,
    drv_t_DownwardAPIVolumeFile, drv_t_VolumeProjection, drv_t_PodDNSConfigOption,
    drv_t_AppArmorProfile;

TYPE(drv_t_NodeSelectorRequirement, "io.k8s.api.core.v1.NodeSelectorRequirement",
     "A selector on node labels or fields: key, operator, values.",
     F_STR_REQ("key", "The label key."),
     F_STR_REQ("operator", "In, NotIn, Exists, DoesNotExist, Gt or Lt."),
     F_STRS("values", "Values for In/NotIn (any), Gt/Lt (one integer)."));

TYPE(drv_t_NodeSelectorTerm, "io.k8s.api.core.v1.NodeSelectorTerm",
     "Requirements ANDed together.",
     F_LIST("matchExpressions", drv_t_NodeSelectorRequirement, NULL, "By node labels."),
     F_LIST("matchFields", drv_t_NodeSelectorRequirement, NULL, "By node fields."));

TYPE(drv_t_NodeSelector, "io.k8s.api.core.v1.NodeSelector", "Terms ORed together.",
     F_LIST_REQ("nodeSelectorTerms", drv_t_NodeSelectorTerm, NULL, "The terms."));

TYPE(drv_t_PreferredSchedulingTerm, "io.k8s.api.core.v1.PreferredSchedulingTerm",
     "A weighted node selector term.",
     F_OBJ_REQ("preference", drv_t_NodeSelectorTerm, "The node selector term."),
     F_INT_REQ("weight", "Weight in the range 1-100."));

TYPE_OPEN(drv_t_NodeAffinity, "io.k8s.api.core.v1.NodeAffinity", "Node affinity scheduling rules.",
          F_LIST("preferredDuringSchedulingIgnoredDuringExecution", drv_t_PreferredSchedulingTerm, NULL,
                 "Preferred nodes."),
          F_OBJ("requiredDuringSchedulingIgnoredDuringExecution", drv_t_NodeSelector,
                "Nodes the pod must run on."));

TYPE_OPEN(drv_t_PodAffinityTerm, "io.k8s.api.core.v1.PodAffinityTerm",
          "Pods (by label) the pod should be co-located (or not) with, per topology domain.",
          F_OBJ("labelSelector", drv_t_LabelSelector, "Selects the pods."),
          F_STRS("matchLabelKeys", "Label keys added to the selector from the pod's labels."),
          F_STRS("mismatchLabelKeys", "Label keys whose values must differ."),
          F_OBJ("namespaceSelector", drv_t_LabelSelector, "Namespaces the term applies to."),
          F_STRS("namespaces", "Namespace names the term applies to."),
          F_STR_REQ("topologyKey", "Node label key of the topology domain."));

TYPE(drv_t_WeightedPodAffinityTerm, "io.k8s.api.core.v1.WeightedPodAffinityTerm",
     "A weighted pod affinity term.",
     F_OBJ_REQ("podAffinityTerm", drv_t_PodAffinityTerm, "The term."),
     F_INT_REQ("weight", "Weight in the range 1-100."));

TYPE_OPEN(drv_t_PodAffinity, "io.k8s.api.core.v1.PodAffinity", "Inter-pod (anti-)affinity rules.",
          F_LIST("preferredDuringSchedulingIgnoredDuringExecution", drv_t_WeightedPodAffinityTerm,
                 NULL, "Preferred terms."),
          F_LIST("requiredDuringSchedulingIgnoredDuringExecution", drv_t_PodAffinityTerm, NULL,
                 "Required terms."));

TYPE_OPEN(drv_t_Affinity, "io.k8s.api.core.v1.Affinity", "A group of affinity scheduling rules.",
          F_OBJ("nodeAffinity", drv_t_NodeAffinity, "Node affinity rules."),
          F_OBJ("podAffinity", drv_t_PodAffinity, "Pod affinity rules."),
          F_OBJ("podAntiAffinity", drv_t_PodAffinity, "Pod anti-affinity rules."));

TYPE_OPEN(drv_t_SeccompProfile, "io.k8s.api.core.v1.SeccompProfile", "A seccomp profile.",
          F_STR("localhostProfile", "Profile file on the node."),
          F_STR_REQ("type", "Localhost, RuntimeDefault or Unconfined."));

TYPE_OPEN(drv_t_AppArmorProfile, "io.k8s.api.core.v1.AppArmorProfile", "An AppArmor profile.",
          F_STR("localhostProfile", "Profile loaded on the node."),
          F_STR_REQ("type", "Localhost, RuntimeDefault or Unconfined."));

TYPE_OPEN(drv_t_SELinuxOptions, "io.k8s.api.core.v1.SELinuxOptions", "SELinux labels.",
          F_STR("level", "Level."), F_STR("role", "Role."), F_STR("type", "Type."),
          F_STR("user", "User."));

TYPE(drv_t_Sysctl, "io.k8s.api.core.v1.Sysctl", "A kernel parameter to set.",
     F_STR_REQ("name", "Name of the parameter."), F_STR_REQ("value", "Value to set."));

TYPE_OPEN(drv_t_PodSecurityContext, "io.k8s.api.core.v1.PodSecurityContext",
          "Pod-level security attributes and common container settings.",
          F_OBJ("appArmorProfile", drv_t_AppArmorProfile, "AppArmor options."),
          F_INT("fsGroup", "Supplemental group owning the pod's volumes."),
          F_STR("fsGroupChangePolicy", "OnRootMismatch or Always."),
          F_INT("runAsGroup", "GID of the containers' process."),
          F_BOOL("runAsNonRoot", "Containers must run as a non-root user."),
          F_INT("runAsUser", "UID of the containers' process."),
          F_STR("seLinuxChangePolicy", "How SELinux labels are applied to volumes."),
          F_OBJ("seLinuxOptions", drv_t_SELinuxOptions, "SELinux context."),
          F_OBJ("seccompProfile", drv_t_SeccompProfile, "Seccomp options."),
          F_LIST_OF("supplementalGroups", DRV_S_INT, "Groups added to the first process."),
          F_STR("supplementalGroupsPolicy", "Merge or Strict."),
          F_LIST("sysctls", drv_t_Sysctl, NULL, "Namespaced sysctls."),
          F_ANY("windowsOptions", "Windows options."));

TYPE_OPEN(drv_t_Capabilities, "io.k8s.api.core.v1.Capabilities", "Capabilities to add and drop.",
          F_STRS("add", "Capabilities added."), F_STRS("drop", "Capabilities removed."));

TYPE_OPEN(drv_t_SecurityContext, "io.k8s.api.core.v1.SecurityContext",
          "Security configuration of a container.",
          F_BOOL("allowPrivilegeEscalation", "Whether a process can gain more privileges than its parent."),
          F_OBJ("appArmorProfile", drv_t_AppArmorProfile, "AppArmor options."),
          F_OBJ("capabilities", drv_t_Capabilities, "Capabilities to add/drop."),
          F_BOOL("privileged", "Run in privileged mode."), F_STR("procMount", "Default or Unmasked."),
          F_BOOL("readOnlyRootFilesystem", "Read-only root filesystem."),
          F_INT("runAsGroup", "GID of the process."),
          F_BOOL("runAsNonRoot", "Must run as a non-root user."),
          F_INT("runAsUser", "UID of the process."),
          F_OBJ("seLinuxOptions", drv_t_SELinuxOptions, "SELinux context."),
          F_OBJ("seccompProfile", drv_t_SeccompProfile, "Seccomp options."),
          F_ANY("windowsOptions", "Windows options."));

TYPE(drv_t_HTTPHeader, "io.k8s.api.core.v1.HTTPHeader", "A header of an HTTP probe.",
     F_STR_REQ("name", "Header name."), F_STR_REQ("value", "Header value."));

TYPE(drv_t_ExecAction, "io.k8s.api.core.v1.ExecAction", "A command run in the container.",
     F_STRS("command", "Command line, not run in a shell."));

TYPE(drv_t_HTTPGetAction, "io.k8s.api.core.v1.HTTPGetAction", "An HTTP GET request.",
     F_STR("host", "Host name (the pod IP by default)."),
     F_LIST("httpHeaders", drv_t_HTTPHeader, NULL, "Custom headers."),
     F_STR("path", "Path to access."), F_IOS_REQ("port", "Port number or name."),
     F_STR("scheme", "HTTP or HTTPS."));

TYPE(drv_t_TCPSocketAction, "io.k8s.api.core.v1.TCPSocketAction", "A TCP connection.",
     F_STR("host", "Host name (the pod IP by default)."), F_IOS_REQ("port", "Port number or name."));

TYPE(drv_t_GRPCAction, "io.k8s.api.core.v1.GRPCAction", "A gRPC health check.",
     F_INT_REQ("port", "Port number."), F_STR("service", "Service name."));

TYPE(drv_t_SleepAction, "io.k8s.api.core.v1.SleepAction", "A pause.",
     F_INT_REQ("seconds", "Seconds to sleep."));

TYPE_OPEN(drv_t_LifecycleHandler, "io.k8s.api.core.v1.LifecycleHandler",
          "An action taken in a lifecycle hook.", F_OBJ("exec", drv_t_ExecAction, "Run a command."),
          F_OBJ("httpGet", drv_t_HTTPGetAction, "Send an HTTP request."),
          F_OBJ("sleep", drv_t_SleepAction, "Sleep."),
          F_OBJ("tcpSocket", drv_t_TCPSocketAction, "Deprecated."));

TYPE_OPEN(drv_t_Lifecycle, "io.k8s.api.core.v1.Lifecycle", "Actions on container lifecycle events.",
          F_OBJ("postStart", drv_t_LifecycleHandler, "Called right after the container is created."),
          F_OBJ("preStop", drv_t_LifecycleHandler, "Called before the container is terminated."),
          F_STR("stopSignal", "Signal that stops the container."));

TYPE(drv_t_KeyToPath, "io.k8s.api.core.v1.KeyToPath", "A key projected into a path.",
     F_STR_REQ("key", "The key."), F_INT("mode", "File mode bits."),
     F_STR_REQ("path", "Relative path of the file."));

TYPE_OPEN(drv_t_ConfigMapVolumeSource, "io.k8s.api.core.v1.ConfigMapVolumeSource",
          "A ConfigMap's keys as files.", F_INT("defaultMode", "Default file mode bits."),
          F_LIST("items", drv_t_KeyToPath, NULL, "Keys to project."),
          F_STR("name", "Name of the ConfigMap."), F_BOOL("optional", "Whether it must exist."));

TYPE_OPEN(drv_t_SecretVolumeSource, "io.k8s.api.core.v1.SecretVolumeSource",
          "A Secret's keys as files.", F_INT("defaultMode", "Default file mode bits."),
          F_LIST("items", drv_t_KeyToPath, NULL, "Keys to project."),
          F_BOOL("optional", "Whether it must exist."), F_STR("secretName", "Name of the Secret."));

TYPE_OPEN(drv_t_EmptyDirVolumeSource, "io.k8s.api.core.v1.EmptyDirVolumeSource",
          "A temporary directory sharing the pod's lifetime.",
          F_STR("medium", "\"\" (node disk) or Memory."), F_QTY("sizeLimit", "Size limit."));

TYPE_OPEN(drv_t_HostPathVolumeSource, "io.k8s.api.core.v1.HostPathVolumeSource",
          "A file or directory on the host.", F_STR_REQ("path", "Path on the host."),
          F_STR("type", "Type check (Directory, File, DirectoryOrCreate...)."));

TYPE_OPEN(drv_t_PVCVolumeSource, "io.k8s.api.core.v1.PersistentVolumeClaimVolumeSource",
          "A PersistentVolumeClaim in the pod's namespace.",
          F_STR_REQ("claimName", "Name of the claim."), F_BOOL("readOnly", "Mount read-only."));

TYPE_OPEN(drv_t_ObjectFieldSelector, "io.k8s.api.core.v1.ObjectFieldSelector",
          "Selects a field of the pod.", F_STR("apiVersion", "Schema version of fieldPath."),
          F_STR_REQ("fieldPath", "Path of the field."));

TYPE_OPEN(drv_t_ResourceFieldSelector, "io.k8s.api.core.v1.ResourceFieldSelector",
          "Selects a container resource.", F_STR("containerName", "Container name."),
          F_QTY("divisor", "Output format of the resource."),
          F_STR_REQ("resource", "Resource to select."));

TYPE_OPEN(drv_t_DownwardAPIVolumeFile, "io.k8s.api.core.v1.DownwardAPIVolumeFile",
          "A file with pod information.",
          F_OBJ("fieldRef", drv_t_ObjectFieldSelector, "A field of the pod."),
          F_INT("mode", "File mode bits."), F_STR_REQ("path", "Relative path of the file."),
          F_OBJ("resourceFieldRef", drv_t_ResourceFieldSelector, "A container resource."));

TYPE_OPEN(drv_t_DownwardAPIVolumeSource, "io.k8s.api.core.v1.DownwardAPIVolumeSource",
          "Pod information as files.", F_INT("defaultMode", "Default file mode bits."),
          F_LIST("items", drv_t_DownwardAPIVolumeFile, NULL, "Files."));

TYPE_OPEN(drv_t_VolumeProjection, "io.k8s.api.core.v1.VolumeProjection",
          "One source of a projected volume.",
          F_ANY("clusterTrustBundle", "Trust anchors."),
          F_OBJ("configMap", drv_t_ConfigMapVolumeSource, "ConfigMap keys."),
          F_OBJ("downwardAPI", drv_t_DownwardAPIVolumeSource, "Pod information."),
          F_OBJ("secret", drv_t_SecretVolumeSource, "Secret keys."),
          F_ANY("serviceAccountToken", "A service account token."));

TYPE_OPEN(drv_t_ProjectedVolumeSource, "io.k8s.api.core.v1.ProjectedVolumeSource",
          "Several sources in one directory.", F_INT("defaultMode", "Default file mode bits."),
          F_LIST("sources", drv_t_VolumeProjection, NULL, "The sources."));

TYPE_OPEN(drv_t_ConfigMapEnvSource, "io.k8s.api.core.v1.ConfigMapEnvSource",
          "A ConfigMap's keys as environment variables.", F_STR("name", "Name of the ConfigMap."),
          F_BOOL("optional", "Whether it must exist."));

TYPE_OPEN(drv_t_SecretEnvSource, "io.k8s.api.core.v1.SecretEnvSource",
          "A Secret's keys as environment variables.", F_STR("name", "Name of the Secret."),
          F_BOOL("optional", "Whether it must exist."));

TYPE(drv_t_PodDNSConfigOption, "io.k8s.api.core.v1.PodDNSConfigOption", "A resolver option.",
     F_STR("name", "Option name."), F_STR("value", "Option value."));

TYPE_OPEN(drv_t_PodDNSConfig, "io.k8s.api.core.v1.PodDNSConfig", "DNS parameters of a pod.",
          F_STRS("nameservers", "DNS name server IPs."),
          F_LIST("options", drv_t_PodDNSConfigOption, NULL, "Resolver options."),
          F_STRS("searches", "DNS search domains."));
