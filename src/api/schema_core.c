/* Type tables: meta.k8s.io and the core group's pods (schema.h). Descriptions are short;
 * nested types drover does not inspect stay open (unknown fields kept). */
#include "api/schema_types.h"

extern const drv_schema_type drv_t_ContainerPort, drv_t_EnvVar, drv_t_EnvVarSource,
    drv_t_EnvFromSource, drv_t_ResourceRequirements, drv_t_VolumeMount, drv_t_VolumeDevice,
    drv_t_Probe, drv_t_Volume, drv_t_Toleration, drv_t_HostAlias, drv_t_PodCondition,
    drv_t_ContainerStatus, drv_t_PodIP, drv_t_TopologySpreadConstraint,
    drv_t_PodReadinessGate, drv_t_PodSchedulingGate, drv_t_ContainerResizePolicy,
    drv_t_ContainerState, drv_t_ResourceClaimRef, drv_t_KeySelector;

/* ---- meta.k8s.io/v1 ---- */

TYPE(drv_t_OwnerReference, "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference",
     "OwnerReference contains enough information to let you identify an owning object.",
     F_STR_REQ("apiVersion", "API version of the referent."),
     F_STR_REQ("kind", "Kind of the referent."), F_STR_REQ("name", "Name of the referent."),
     F_STR_REQ("uid", "UID of the referent."),
     F_BOOL("controller", "If true, this reference points to the managing controller."),
     F_BOOL("blockOwnerDeletion", "If true, the owner cannot be deleted before this object "
                                  "(foreground deletion)."));

TYPE(drv_t_ManagedFieldsEntry, "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
     "ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource "
     "that the fieldset applies to.",
     F_STR("apiVersion", "Version of the resource this field set applies to."),
     F_STR("fieldsType", "Format of the fields (FieldsV1)."),
     F_ANY("fieldsV1", "The fields managed, in FieldsV1 form."),
     F_STR("manager", "Identifier of the workflow managing these fields."),
     F_STR("operation", "Apply or Update."), F_STR("subresource", "Subresource written."),
     F_TIME("time", "When the operation happened."));

TYPE(drv_t_ObjectMeta, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
     "ObjectMeta is metadata that all persisted resources must have.",
     F_MAP_STR("annotations", "Unstructured key value map stored with a resource."),
     F_TIME("creationTimestamp", "When this object was created (set by the server)."),
     F_INT("deletionGracePeriodSeconds", "Seconds allowed for graceful termination."),
     F_TIME("deletionTimestamp", "When this object will be deleted (set by the server)."),
     F_STRS_SET("finalizers", "Must be empty before the object is deleted from the registry."),
     F_STR("generateName", "Prefix the server uses to generate a unique name."),
     F_INT("generation", "Sequence number of the desired state's generation."),
     F_MAP_STR("labels", "Map of string keys and values to organize and select objects."),
     F_LIST("managedFields", drv_t_ManagedFieldsEntry, NULL, "Field managers."),
     F_STR("name", "Name, unique within a namespace."),
     F_STR("namespace", "The namespace this object lives in."),
     F_LIST("ownerReferences", drv_t_OwnerReference, "uid",
            "Objects this object depends on (garbage collection)."),
     F_STR("resourceVersion", "Opaque version of this object (optimistic concurrency)."),
     F_STR("selfLink", "Deprecated."), F_STR("uid", "Unique identifier in time and space."));

TYPE(drv_t_ListMeta, "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
     "ListMeta describes metadata that synthetic resources must have.",
     F_STR("continue", "Token to fetch the next page."),
     F_INT("remainingItemCount", "Items after this page."),
     F_STR("resourceVersion", "Version of the list."), F_STR("selfLink", "Deprecated."));

TYPE(drv_t_LabelSelectorRequirement,
     "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement",
     "A selector requirement: a key, an operator and values.",
     F_STR_REQ("key", "The label key."),
     F_STR_REQ("operator", "In, NotIn, Exists or DoesNotExist."),
     F_STRS("values", "Values for In and NotIn; empty for Exists and DoesNotExist."));

TYPE(drv_t_LabelSelector, "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector",
     "A label query over a set of resources; requirements are ANDed.",
     F_LIST("matchExpressions", drv_t_LabelSelectorRequirement, NULL,
            "Label selector requirements."),
     F_MAP_STR("matchLabels", "Each {key,value} pair is an equality requirement."));

TYPE(drv_t_Condition, "io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
     "Details for one aspect of the current state of this API resource.",
     F_TIME("lastTransitionTime", "Last time the condition changed."),
     F_STR("message", "Human readable details."), F_INT("observedGeneration", "Generation seen."),
     F_STR("reason", "Machine readable reason."), F_STR("status", "True, False or Unknown."),
     F_STR("type", "Type of condition."));

/* ---- core/v1 references ---- */

TYPE(drv_t_ObjectReference, "io.k8s.api.core.v1.ObjectReference",
     "ObjectReference contains enough information to let you inspect or modify the referred "
     "object.",
     F_STR("apiVersion", "API version of the referent."), F_STR("fieldPath", "Field of the object."),
     F_STR("kind", "Kind of the referent."), F_STR("name", "Name of the referent."),
     F_STR("namespace", "Namespace of the referent."),
     F_STR("resourceVersion", "Specific resourceVersion referred to."),
     F_STR("uid", "UID of the referent."));

TYPE(drv_t_LocalObjectReference, "io.k8s.api.core.v1.LocalObjectReference",
     "A reference to an object in the same namespace.", F_STR("name", "Name of the referent."));

/* ---- containers ---- */

TYPE(drv_t_ContainerPort, "io.k8s.api.core.v1.ContainerPort",
     "A network port in a single container.",
     F_INT_REQ("containerPort", "Port number on the pod's IP address (0 < x < 65536)."),
     F_STR("hostIP", "Host IP to bind the external port to."),
     F_INT("hostPort", "Port number to expose on the host."),
     F_STR("name", "IANA_SVC_NAME, unique within the pod."),
     F_STR("protocol", "UDP, TCP, or SCTP. Defaults to \"TCP\"."));

TYPE(drv_t_KeySelector, "io.k8s.api.core.v1.KeySelector",
     "Selects a key of a ConfigMap or Secret.", F_STR_REQ("key", "The key to select."),
     F_STR("name", "Name of the referent."), F_BOOL("optional", "Whether it must be defined."));

TYPE_OPEN(drv_t_EnvVarSource, "io.k8s.api.core.v1.EnvVarSource",
          "Source for the environment variable's value.",
          F_OBJ("configMapKeyRef", drv_t_KeySelector, "Selects a key of a ConfigMap."),
          F_OBJ("fieldRef", drv_t_ObjectFieldSelector, "Selects a field of the pod."),
          F_OBJ("resourceFieldRef", drv_t_ResourceFieldSelector, "Selects a resource of the container."),
          F_OBJ("secretKeyRef", drv_t_KeySelector, "Selects a key of a secret."));

TYPE(drv_t_EnvVar, "io.k8s.api.core.v1.EnvVar",
     "EnvVar represents an environment variable present in a Container.",
     F_STR_REQ("name", "Name of the environment variable."),
     F_STR("value", "Value, with $(VAR_NAME) expanded."),
     F_OBJ("valueFrom", drv_t_EnvVarSource, "Source for the value; not used if value is set."));

TYPE_OPEN(drv_t_EnvFromSource, "io.k8s.api.core.v1.EnvFromSource",
          "A source to populate environment variables in the container.",
          F_OBJ("configMapRef", drv_t_ConfigMapEnvSource, "The ConfigMap to select from."),
          F_STR("prefix", "Prefix prepended to each key."),
          F_OBJ("secretRef", drv_t_SecretEnvSource, "The Secret to select from."));

TYPE(drv_t_ResourceClaimRef, "io.k8s.api.core.v1.ResourceClaim",
     "A reference to one entry in PodSpec.ResourceClaims.", F_STR_REQ("name", "Claim name."),
     F_STR("request", "Request name."));

TYPE(drv_t_ResourceRequirements, "io.k8s.api.core.v1.ResourceRequirements",
     "Compute resource requirements.",
     F_LIST("claims", drv_t_ResourceClaimRef, "name", "Dynamically allocated resources used."),
     F_MAP_QTY("limits", "Maximum amount of compute resources allowed."),
     F_MAP_QTY("requests", "Minimum amount of compute resources required."));

TYPE(drv_t_ContainerResizePolicy, "io.k8s.api.core.v1.ContainerResizePolicy",
     "Resize policy for a resource of a container.",
     F_STR_REQ("resourceName", "Resource this policy applies to."),
     F_STR_REQ("restartPolicy", "NotRequired or RestartContainer."));

TYPE(drv_t_VolumeMount, "io.k8s.api.core.v1.VolumeMount",
     "A mounting of a Volume within a container.",
     F_STR_REQ("mountPath", "Path within the container."),
     F_STR("mountPropagation", "How mounts are propagated."),
     F_STR_REQ("name", "Must match the name of a Volume."),
     F_BOOL("readOnly", "Mounted read-only if true."),
     F_STR("recursiveReadOnly", "Whether read-only mounts are recursive."),
     F_STR("subPath", "Path within the volume to mount."),
     F_STR("subPathExpr", "Expanded path within the volume."));

TYPE(drv_t_VolumeDevice, "io.k8s.api.core.v1.VolumeDevice",
     "A mapping of a raw block device within a container.",
     F_STR_REQ("devicePath", "Path inside the container."),
     F_STR_REQ("name", "Must match a persistentVolumeClaim of the pod."));

TYPE(drv_t_Probe, "io.k8s.api.core.v1.Probe",
     "A health check performed against a container.",
     F_OBJ("exec", drv_t_ExecAction, "Exec specifies a command to run."),
     F_INT("failureThreshold", "Consecutive failures to be considered failed."),
     F_OBJ("grpc", drv_t_GRPCAction, "GRPC specifies a GRPC HealthCheckRequest."),
     F_OBJ("httpGet", drv_t_HTTPGetAction, "HTTPGet specifies an HTTP GET request."),
     F_INT("initialDelaySeconds", "Seconds after start before probes begin."),
     F_INT("periodSeconds", "How often (seconds) to probe."),
     F_INT("successThreshold", "Consecutive successes to be considered successful."),
     F_OBJ("tcpSocket", drv_t_TCPSocketAction, "TCPSocket specifies a connection to a TCP port."),
     F_INT("terminationGracePeriodSeconds", "Grace period after a probe failure."),
     F_INT("timeoutSeconds", "Seconds after which the probe times out."));

TYPE(drv_t_Container, "io.k8s.api.core.v1.Container",
     "A single application container that you want to run within a pod.",
     F_STRS("args", "Arguments to the entrypoint."),
     F_STRS("command", "Entrypoint array; the image's ENTRYPOINT when not given."),
     F_LIST("env", drv_t_EnvVar, "name", "Environment variables to set in the container."),
     F_LIST("envFrom", drv_t_EnvFromSource, NULL, "Sources to populate environment variables."),
     F_STR("image", "Container image name."),
     F_STR("imagePullPolicy", "Always, Never, IfNotPresent."),
     F_OBJ("lifecycle", drv_t_Lifecycle, "Actions on container lifecycle events."),
     F_OBJ("livenessProbe", drv_t_Probe, "Periodic probe of container liveness."),
     F_STR_REQ("name", "Name of the container (DNS_LABEL), unique within the pod."),
     F_LIST("ports", drv_t_ContainerPort, "containerPort", "Ports to expose from the container."),
     F_OBJ("readinessProbe", drv_t_Probe, "Periodic probe of container service readiness."),
     F_LIST("resizePolicy", drv_t_ContainerResizePolicy, NULL, "Resources resize policy."),
     F_OBJ("resources", drv_t_ResourceRequirements, "Compute resources required."),
     F_STR("restartPolicy", "Restart behavior of an init container (Always for sidecars)."),
     F_OBJ("securityContext", drv_t_SecurityContext, "Security options the container should be run with."),
     F_OBJ("startupProbe", drv_t_Probe, "Indicates the pod has successfully initialized."),
     F_BOOL("stdin", "Allocate a buffer for stdin."),
     F_BOOL("stdinOnce", "Close stdin after the first attach."),
     F_STR("terminationMessagePath", "File to write the termination message to."),
     F_STR("terminationMessagePolicy", "File or FallbackToLogsOnError."),
     F_BOOL("tty", "Allocate a TTY."),
     F_LIST("volumeDevices", drv_t_VolumeDevice, "devicePath", "Block devices to use."),
     F_LIST("volumeMounts", drv_t_VolumeMount, "mountPath",
            "Pod volumes to mount into the container's filesystem."),
     F_STR("workingDir", "Container's working directory."));

/* Volume sources stay open: drover passes them to the agent as they are. */
TYPE_OPEN(drv_t_Volume, "io.k8s.api.core.v1.Volume",
          "A named volume in a pod that may be accessed by any container in the pod.",
          F_OBJ("configMap", drv_t_ConfigMapVolumeSource, "A configMap that should populate this volume."),
          F_OBJ("downwardAPI", drv_t_DownwardAPIVolumeSource, "Downward API about the pod."),
          F_OBJ("emptyDir", drv_t_EmptyDirVolumeSource, "A temporary directory that shares a pod's lifetime."),
          F_OBJ("hostPath", drv_t_HostPathVolumeSource, "A pre-existing file or directory on the host."),
          F_STR_REQ("name", "Name of the volume (DNS_LABEL), unique within the pod."),
          F_OBJ("persistentVolumeClaim", drv_t_PVCVolumeSource, "A PersistentVolumeClaim in the same namespace."),
          F_OBJ("projected", drv_t_ProjectedVolumeSource, "Items for all-in-one resources secrets, configmaps, and downward API."),
          F_OBJ("secret", drv_t_SecretVolumeSource, "A secret that should populate this volume."));

TYPE(drv_t_Toleration, "io.k8s.api.core.v1.Toleration",
     "The pod this Toleration is attached to tolerates any taint that matches the triple "
     "<key,value,effect> using the matching operator.",
     F_STR("effect", "Taint effect to match: NoSchedule, PreferNoSchedule, NoExecute."),
     F_STR("key", "Taint key the toleration applies to; empty matches all."),
     F_STR("operator", "Exists or Equal (default)."),
     F_INT("tolerationSeconds", "How long a NoExecute taint is tolerated."),
     F_STR("value", "Taint value the toleration matches to."));

TYPE(drv_t_HostAlias, "io.k8s.api.core.v1.HostAlias",
     "An entry for the pod's hosts file.", F_STRS("hostnames", "Hostnames for the IP."),
     F_STR_REQ("ip", "IP address of the host file entry."));

TYPE_OPEN(drv_t_TopologySpreadConstraint, "io.k8s.api.core.v1.TopologySpreadConstraint",
          "How to spread matching pods among the given topology.",
          F_OBJ("labelSelector", drv_t_LabelSelector, "Finds matching pods."),
          F_INT_REQ("maxSkew", "Degree to which pods may be unevenly distributed."),
          F_STR_REQ("topologyKey", "Key of node labels."),
          F_STR_REQ("whenUnsatisfiable", "DoNotSchedule or ScheduleAnyway."));

TYPE(drv_t_PodReadinessGate, "io.k8s.api.core.v1.PodReadinessGate",
     "A pod condition to be evaluated for pod readiness.",
     F_STR_REQ("conditionType", "Condition type in the pod's conditions."));

TYPE(drv_t_PodSchedulingGate, "io.k8s.api.core.v1.PodSchedulingGate",
     "A gate the pod waits for before scheduling.", F_STR_REQ("name", "Name of the gate."));

TYPE(drv_t_PodSpec, "io.k8s.api.core.v1.PodSpec", "PodSpec is a description of a pod.",
     F_INT("activeDeadlineSeconds", "Duration a pod may be active before the system fails it."),
     F_OBJ("affinity", drv_t_Affinity, "The pod's scheduling constraints."),
     F_BOOL("automountServiceAccountToken", "Whether a service account token is mounted."),
     F_LIST_REQ("containers", drv_t_Container, "name", "Containers belonging to the pod."),
     F_OBJ("dnsConfig", drv_t_PodDNSConfig, "DNS parameters of a pod."),
     F_STR("dnsPolicy", "ClusterFirstWithHostNet, ClusterFirst, Default or None."),
     F_BOOL("enableServiceLinks", "Whether service environment variables are injected."),
     F_LIST("ephemeralContainers", drv_t_Container, "name", "Ephemeral debugging containers."),
     F_LIST("hostAliases", drv_t_HostAlias, "ip", "Entries for the pod's hosts file."),
     F_BOOL("hostIPC", "Use the host's ipc namespace."),
     F_BOOL("hostNetwork", "Use the host's network namespace."),
     F_BOOL("hostPID", "Use the host's pid namespace."),
     F_BOOL("hostUsers", "Use the host's user namespace."),
     F_STR("hostname", "The pod's hostname."),
     F_LIST("imagePullSecrets", drv_t_LocalObjectReference, "name",
            "Secrets to use for pulling images."),
     F_LIST("initContainers", drv_t_Container, "name", "Containers run before the app containers."),
     F_STR("nodeName", "Node the pod is bound to."),
     F_MAP_STR("nodeSelector", "Labels a node must have to run the pod."),
     F_ANY("os", "OS of the containers."),
     F_MAP_QTY("overhead", "Resource overhead of the pod's runtime class."),
     F_STR("preemptionPolicy", "Never or PreemptLowerPriority."),
     F_INT("priority", "Priority value."), F_STR("priorityClassName", "Priority class."),
     F_LIST("readinessGates", drv_t_PodReadinessGate, NULL, "Extra readiness conditions."),
     F_ANY("resourceClaims", "Resource claims of the pod."),
     F_OBJ("resources", drv_t_ResourceRequirements, "Pod-level resources."),
     F_STR("restartPolicy", "Always, OnFailure, Never. Default Always."),
     F_STR("runtimeClassName", "RuntimeClass to run the pod."),
     F_STR("schedulerName", "Scheduler that dispatches the pod."),
     F_LIST("schedulingGates", drv_t_PodSchedulingGate, "name", "Gates blocking scheduling."),
     F_OBJ("securityContext", drv_t_PodSecurityContext, "Pod-level security attributes."),
     F_STR("serviceAccount", "Deprecated alias for serviceAccountName."),
     F_STR("serviceAccountName", "ServiceAccount the pod runs as."),
     F_BOOL("setHostnameAsFQDN", "Use the FQDN as hostname."),
     F_BOOL("shareProcessNamespace", "Share one pid namespace between containers."),
     F_STR("subdomain", "Subdomain of the pod's FQDN."),
     F_INT("terminationGracePeriodSeconds", "Seconds to terminate gracefully. Default 30."),
     F_LIST("tolerations", drv_t_Toleration, NULL, "The pod's tolerations."),
     F_LIST("topologySpreadConstraints", drv_t_TopologySpreadConstraint, "topologyKey",
            "How pods spread across topology domains."),
     F_LIST_RK("volumes", drv_t_Volume, "name", "Volumes containers can mount."));

TYPE(drv_t_PodCondition, "io.k8s.api.core.v1.PodCondition",
     "Details of the current condition of this pod.",
     F_TIME("lastProbeTime", "Last probe time."), F_TIME("lastTransitionTime", "Last change."),
     F_STR("message", "Details."), F_STR("reason", "Reason, CamelCase."),
     F_STR_REQ("status", "True, False or Unknown."), F_STR_REQ("type", "Type of the condition."));

TYPE(drv_t_PodIP, "io.k8s.api.core.v1.PodIP", "An IP address allocated to the pod.",
     F_STR("ip", "The IP address."));

TYPE_OPEN(drv_t_ContainerState, "io.k8s.api.core.v1.ContainerState",
          "Possible state of a container: waiting, running or terminated.",
          F_ANY("running", "Running since startedAt."),
          F_ANY("terminated", "Terminated: exitCode, reason, times."),
          F_ANY("waiting", "Waiting: reason and message."));

TYPE_OPEN(drv_t_ContainerStatus, "io.k8s.api.core.v1.ContainerStatus",
          "Information about one container's current status.",
          F_MAP_QTY("allocatedResources", "Resources allocated."),
          F_STR("containerID", "Container's ID as <type>://<id>."),
          F_STR_REQ("image", "Image the container runs."),
          F_STR_REQ("imageID", "Image's ID."),
          F_OBJ("lastState", drv_t_ContainerState, "Last termination condition."),
          F_STR_REQ("name", "Container name."), F_BOOL("ready", "Passed its readiness probe."),
          F_INT("restartCount", "Times the container restarted."),
          F_BOOL("started", "Passed its startup probe."),
          F_OBJ("state", drv_t_ContainerState, "Current condition."));

TYPE_OPEN(drv_t_PodStatus, "io.k8s.api.core.v1.PodStatus",
          "Most recently observed status of the pod.",
          F_LIST("conditions", drv_t_PodCondition, "type", "Current service state of the pod."),
          F_LIST("containerStatuses", drv_t_ContainerStatus, NULL, "Containers' statuses."),
          F_LIST("ephemeralContainerStatuses", drv_t_ContainerStatus, NULL, "Ephemeral containers."),
          F_STR("hostIP", "IP of the host the pod runs on."),
          F_LIST("hostIPs", drv_t_PodIP, "ip", "IPs of the host."),
          F_LIST("initContainerStatuses", drv_t_ContainerStatus, NULL, "Init containers."),
          F_STR("message", "Why the pod is in this condition."),
          F_STR("nominatedNodeName", "Node nominated by preemption."),
          F_STR("phase", "Pending, Running, Succeeded, Failed or Unknown."),
          F_STR("podIP", "IP address allocated to the pod."),
          F_LIST("podIPs", drv_t_PodIP, "ip", "IPs allocated to the pod."),
          F_STR("qosClass", "Guaranteed, Burstable or BestEffort."),
          F_STR("reason", "Reason, CamelCase (e.g. Evicted)."),
          F_TIME("startTime", "When the kubelet acknowledged the pod."));

TYPE(drv_t_Pod, "io.k8s.api.core.v1.Pod",
     "Pod is a collection of containers that can run on a host.",
     F_STR("apiVersion", "Versioned schema of this representation of an object."),
     F_STR("kind", "REST resource this object represents."),
     F_OBJ("metadata", drv_t_ObjectMeta, "Standard object's metadata."),
     F_OBJ("spec", drv_t_PodSpec, "Specification of the desired behavior of the pod."),
     F_OBJ("status", drv_t_PodStatus, "Most recently observed status of the pod."));

TYPE(drv_t_PodTemplateSpec, "io.k8s.api.core.v1.PodTemplateSpec",
     "Data a pod should have when created from a template.",
     F_OBJ("metadata", drv_t_ObjectMeta, "Standard object's metadata."),
     F_OBJ("spec", drv_t_PodSpec, "Specification of the desired behavior of the pod."));
