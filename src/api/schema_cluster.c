/* Type tables: core/v1 kinds other than pods (schema.h). */
#include "api/schema_types.h"

extern const drv_schema_type drv_t_NamespaceSpec, drv_t_NamespaceStatus, drv_t_NodeSpec,
    drv_t_NodeStatus, drv_t_Taint, drv_t_NodeCondition, drv_t_NodeAddress, drv_t_NodeSystemInfo,
    drv_t_ServiceSpec, drv_t_ServiceStatus, drv_t_ServicePort, drv_t_EndpointSubset,
    drv_t_EndpointAddress, drv_t_EndpointPort, drv_t_NamespaceCondition, drv_t_EventSeries,
    drv_t_ContainerImage, drv_t_ClientIPConfig, drv_t_SessionAffinityConfig, drv_t_PortStatus,
    drv_t_LoadBalancerIngress, drv_t_LoadBalancerStatus;

#define TYPEMETA                                                                               \
  F_STR("apiVersion", "Versioned schema of this representation of an object."),                \
      F_STR("kind", "REST resource this object represents."),                                   \
      F_OBJ("metadata", drv_t_ObjectMeta, "Standard object's metadata.")

TYPE(drv_t_NamespaceSpec, "io.k8s.api.core.v1.NamespaceSpec",
     "Attributes a Namespace has.",
     F_STRS("finalizers", "Must be empty before the namespace is removed from storage."));

TYPE(drv_t_NamespaceCondition, "io.k8s.api.core.v1.NamespaceCondition",
     "State of a namespace at a point.", F_TIME("lastTransitionTime", "Last change."),
     F_STR("message", "Details."), F_STR("reason", "Reason."),
     F_STR_REQ("status", "True, False or Unknown."), F_STR_REQ("type", "Type of the condition."));

TYPE(drv_t_NamespaceStatus, "io.k8s.api.core.v1.NamespaceStatus",
     "Information about the current status of a Namespace.",
     F_LIST("conditions", drv_t_NamespaceCondition, "type", "Observations of the state."),
     F_STR("phase", "Active or Terminating."));

TYPE(drv_t_Namespace, "io.k8s.api.core.v1.Namespace",
     "Namespace provides a scope for Names.", TYPEMETA,
     F_OBJ("spec", drv_t_NamespaceSpec, "Behavior of the Namespace."),
     F_OBJ("status", drv_t_NamespaceStatus, "Current status of a Namespace."));

TYPE(drv_t_Taint, "io.k8s.api.core.v1.Taint",
     "The node this Taint is attached to has the effect on any pod that does not tolerate it.",
     F_STR_REQ("effect", "NoSchedule, PreferNoSchedule or NoExecute."),
     F_STR_REQ("key", "Taint key."), F_TIME("timeAdded", "When NoExecute was added."),
     F_STR("value", "Taint value."));

TYPE_OPEN(drv_t_NodeSpec, "io.k8s.api.core.v1.NodeSpec",
          "Attributes a node is created with.", F_ANY("configSource", "Deprecated."),
          F_STR("externalID", "Deprecated."), F_STR("podCIDR", "Pod IP range of the node."),
          F_STRS_SET("podCIDRs", "Pod IP ranges of the node."),
          F_STR("providerID", "ID assigned by the cloud provider."),
          F_LIST("taints", drv_t_Taint, NULL, "The node's taints."),
          F_BOOL("unschedulable", "Controls schedulability of new pods."));

TYPE(drv_t_NodeCondition, "io.k8s.api.core.v1.NodeCondition",
     "Condition information for a node.", F_TIME("lastHeartbeatTime", "Last heartbeat."),
     F_TIME("lastTransitionTime", "Last change."), F_STR("message", "Details."),
     F_STR("reason", "Reason."), F_STR_REQ("status", "True, False or Unknown."),
     F_STR_REQ("type", "Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable."));

TYPE(drv_t_NodeAddress, "io.k8s.api.core.v1.NodeAddress", "Information for the node's address.",
     F_STR_REQ("address", "The address."), F_STR_REQ("type", "Hostname, InternalIP, ExternalIP..."));

TYPE_OPEN(drv_t_NodeSystemInfo, "io.k8s.api.core.v1.NodeSystemInfo",
          "Identifiers of the node.", F_STR("architecture", "Architecture."),
          F_STR("bootID", "Boot ID."), F_STR("containerRuntimeVersion", "Runtime version."),
          F_STR("kernelVersion", "Kernel version."), F_STR("kubeProxyVersion", "Deprecated."),
          F_STR("kubeletVersion", "Node agent version."), F_STR("machineID", "Machine ID."),
          F_STR("operatingSystem", "Operating system."), F_STR("osImage", "OS image."),
          F_STR("systemUUID", "System UUID."));

TYPE(drv_t_ContainerImage, "io.k8s.api.core.v1.ContainerImage", "A container image.",
     F_STRS("names", "Names of the image."), F_INT("sizeBytes", "Size of the image."));

TYPE_OPEN(drv_t_NodeStatus, "io.k8s.api.core.v1.NodeStatus",
          "Most recently observed status of the node.",
          F_LIST("addresses", drv_t_NodeAddress, "type", "Addresses reachable to the node."),
          F_MAP_QTY("allocatable", "Resources available for scheduling."),
          F_MAP_QTY("capacity", "Total resources of the node."),
          F_LIST("conditions", drv_t_NodeCondition, "type", "Current observed conditions."),
          F_ANY("daemonEndpoints", "Endpoints of daemons on the node."),
          F_LIST("images", drv_t_ContainerImage, NULL, "Images on the node."),
          F_OBJ("nodeInfo", drv_t_NodeSystemInfo, "Identifiers of the node."),
          F_STR("phase", "Deprecated."));

TYPE(drv_t_Node, "io.k8s.api.core.v1.Node",
     "Node is a worker node; each node has a unique name.", TYPEMETA,
     F_OBJ("spec", drv_t_NodeSpec, "Behavior of a node."),
     F_OBJ("status", drv_t_NodeStatus, "Most recently observed status of the node."));

TYPE(drv_t_ServicePort, "io.k8s.api.core.v1.ServicePort",
     "Information on a service's port.", F_STR("appProtocol", "Application protocol."),
     F_STR("name", "Name of this port within the service (DNS_LABEL)."),
     F_INT("nodePort", "Port on each node (NodePort or LoadBalancer)."),
     F_INT_REQ("port", "The port that will be exposed by this service."),
     F_STR("protocol", "TCP, UDP or SCTP. Default TCP."),
     F_IOS("targetPort", "Number or name of the port to access on the pods."));

TYPE(drv_t_ClientIPConfig, "io.k8s.api.core.v1.ClientIPConfig", "ClientIP session affinity settings.",
     F_INT("timeoutSeconds", "Seconds of sticky sessions (default 10800)."));

TYPE(drv_t_SessionAffinityConfig, "io.k8s.api.core.v1.SessionAffinityConfig",
     "Session affinity settings.", F_OBJ("clientIP", drv_t_ClientIPConfig, "ClientIP settings."));

TYPE(drv_t_PortStatus, "io.k8s.api.core.v1.PortStatus", "Status of a load-balancer port.",
     F_STR("error", "Error of the port."), F_INT_REQ("port", "Port number."),
     F_STR_REQ("protocol", "TCP, UDP or SCTP."));

TYPE(drv_t_LoadBalancerIngress, "io.k8s.api.core.v1.LoadBalancerIngress",
     "An ingress point of a load balancer.", F_STR("hostname", "DNS name."), F_STR("ip", "IP address."),
     F_STR("ipMode", "VIP or Proxy."), F_LIST("ports", drv_t_PortStatus, NULL, "Port statuses."));

TYPE(drv_t_LoadBalancerStatus, "io.k8s.api.core.v1.LoadBalancerStatus", "Status of a load balancer.",
     F_LIST("ingress", drv_t_LoadBalancerIngress, NULL, "Ingress points."));

TYPE_OPEN(drv_t_ServiceSpec, "io.k8s.api.core.v1.ServiceSpec",
          "Attributes a user creates on a service.",
          F_BOOL("allocateLoadBalancerNodePorts", "Allocate node ports for LoadBalancer."),
          F_STR("clusterIP", "IP address of the service (allocated when empty)."),
          F_STRS("clusterIPs", "IP addresses of the service."),
          F_STRS("externalIPs", "IPs for which nodes accept traffic for this service."),
          F_STR("externalName", "DNS name for ExternalName services."),
          F_STR("externalTrafficPolicy", "Cluster or Local."),
          F_INT("healthCheckNodePort", "Health check node port."),
          F_STR("internalTrafficPolicy", "Cluster or Local."),
          F_STRS("ipFamilies", "IPv4 and/or IPv6."),
          F_STR("ipFamilyPolicy", "SingleStack, PreferDualStack or RequireDualStack."),
          F_STR("loadBalancerClass", "Load balancer implementation."),
          F_STR("loadBalancerIP", "Deprecated."),
          F_STRS("loadBalancerSourceRanges", "Client IPs allowed."),
          F_LIST("ports", drv_t_ServicePort, "port", "Ports exposed by this service."),
          F_BOOL("publishNotReadyAddresses", "Publish endpoints of unready pods."),
          F_MAP_STR("selector", "Route traffic to pods with labels matching this selector."),
          F_STR("sessionAffinity", "ClientIP or None."),
          F_OBJ("sessionAffinityConfig", drv_t_SessionAffinityConfig, "Configuration of session affinity."),
          F_STR("trafficDistribution", "Traffic distribution preference."),
          F_STR("type", "ClusterIP, NodePort, LoadBalancer or ExternalName."));

TYPE_OPEN(drv_t_ServiceStatus, "io.k8s.api.core.v1.ServiceStatus",
          "Current status of a service.",
          F_LIST("conditions", drv_t_Condition, "type", "Current service state."),
          F_OBJ("loadBalancer", drv_t_LoadBalancerStatus, "Status of the load-balancer."));

TYPE(drv_t_Service, "io.k8s.api.core.v1.Service",
     "Service is a named abstraction of software service (for example, mysql) consisting of "
     "local port (for example 3306) that the proxy listens on, and the selector that determines "
     "which pods will answer requests sent through the proxy.",
     TYPEMETA, F_OBJ("spec", drv_t_ServiceSpec, "Behavior of a service."),
     F_OBJ("status", drv_t_ServiceStatus, "Most recently observed status of the service."));

TYPE(drv_t_EndpointAddress, "io.k8s.api.core.v1.EndpointAddress",
     "A single IP address.", F_STR("hostname", "Hostname of this endpoint."),
     F_STR_REQ("ip", "IP of this endpoint."), F_STR("nodeName", "Node hosting this endpoint."),
     F_OBJ("targetRef", drv_t_ObjectReference, "Reference to the object providing the endpoint."));

TYPE(drv_t_EndpointPort, "io.k8s.api.core.v1.EndpointPort",
     "A single port.", F_STR("appProtocol", "Application protocol."),
     F_STR("name", "Name of this port."), F_INT_REQ("port", "Port number."),
     F_STR("protocol", "TCP, UDP or SCTP."));

TYPE(drv_t_EndpointSubset, "io.k8s.api.core.v1.EndpointSubset",
     "A group of addresses with a common set of ports.",
     F_LIST("addresses", drv_t_EndpointAddress, NULL, "Ready addresses."),
     F_LIST("notReadyAddresses", drv_t_EndpointAddress, NULL, "Addresses not ready."),
     F_LIST("ports", drv_t_EndpointPort, NULL, "Port numbers available."));

TYPE(drv_t_Endpoints, "io.k8s.api.core.v1.Endpoints",
     "Endpoints is a collection of endpoints that implement the actual service.", TYPEMETA,
     F_LIST("subsets", drv_t_EndpointSubset, NULL, "Sets of addresses and ports."));

TYPE(drv_t_ConfigMap, "io.k8s.api.core.v1.ConfigMap",
     "ConfigMap holds configuration data for pods to consume.", TYPEMETA,
     F_MAP_STR("binaryData", "Binary data (base64)."),
     F_MAP_STR("data", "Configuration data."),
     F_BOOL("immutable", "If true, data cannot be updated."));

TYPE(drv_t_Secret, "io.k8s.api.core.v1.Secret",
     "Secret holds secret data of a certain type.", TYPEMETA,
     F_MAP_STR("data", "Secret data, base64 encoded."),
     F_BOOL("immutable", "If true, data cannot be updated."),
     F_MAP_STR("stringData", "Write-only convenience: merged into data as plain strings."),
     F_STR("type", "Used to facilitate programmatic handling of secret data."));

TYPE(drv_t_ServiceAccount, "io.k8s.api.core.v1.ServiceAccount",
     "ServiceAccount binds together a name, a principal, and secrets.", TYPEMETA,
     F_BOOL("automountServiceAccountToken", "Whether pods mount a token."),
     F_LIST("imagePullSecrets", drv_t_LocalObjectReference, NULL, "Secrets for pulling images."),
     F_LIST("secrets", drv_t_ObjectReference, "name", "Secrets pods may use."));

TYPE(drv_t_EventSource, "io.k8s.api.core.v1.EventSource", "Source of an event.",
     F_STR("component", "Component from which the event is generated."),
     F_STR("host", "Node name on which the event is generated."));

TYPE(drv_t_EventSeries, "io.k8s.api.core.v1.EventSeries",
     "A series of events that happened.", F_INT("count", "Occurrences in the series."),
     F_TIME("lastObservedTime", "Time of the last occurrence."));

TYPE(drv_t_Event, "io.k8s.api.core.v1.Event",
     "Event is a report of an event somewhere in the cluster.", TYPEMETA,
     F_STR("action", "What action was taken/failed."), F_INT("count", "Times it occurred."),
     F_TIME("eventTime", "When this Event was first observed."),
     F_TIME("firstTimestamp", "First recorded occurrence."),
     F_OBJ_REQ("involvedObject", drv_t_ObjectReference, "The object this event is about."),
     F_TIME("lastTimestamp", "Most recent occurrence."),
     F_STR("message", "Human-readable description."), F_STR("reason", "Short, machine understandable reason."),
     F_OBJ("related", drv_t_ObjectReference, "Optional secondary object."),
     F_STR("reportingComponent", "Controller that emitted this Event."),
     F_STR("reportingInstance", "ID of the controller instance."),
     F_OBJ("series", drv_t_EventSeries, "Data about the series of events."),
     F_OBJ("source", drv_t_EventSource, "Component reporting this event."),
     F_STR("type", "Normal or Warning."));
