/* Type tables: apps, autoscaling, coordination, discovery, events.k8s.io, metrics (schema.h). */
#include "api/schema_types.h"

extern const drv_schema_type drv_t_DeploymentSpec, drv_t_DeploymentStatus,
    drv_t_DeploymentStrategy, drv_t_RollingUpdateDeployment, drv_t_DeploymentCondition,
    drv_t_ReplicaSetSpec, drv_t_ReplicaSetStatus, drv_t_ReplicaSetCondition, drv_t_HPAv2Spec,
    drv_t_HPAv2Status, drv_t_CrossVersionObjectReference, drv_t_MetricSpec, drv_t_MetricStatus,
    drv_t_HPABehavior, drv_t_HPAScalingRules, drv_t_HPAScalingPolicy, drv_t_HPACondition,
    drv_t_HPAv1Spec, drv_t_HPAv1Status, drv_t_LeaseSpec, drv_t_Endpoint, drv_t_EndpointSlicePort,
    drv_t_EndpointConditions, drv_t_ContainerMetrics, drv_t_ScaleSpec, drv_t_ScaleStatus,
    drv_t_EventsV1Series, drv_t_MetricTarget, drv_t_ResourceMetricSource, drv_t_MetricIdentifier,
    drv_t_PodsMetricSource, drv_t_ObjectMetricSource,
    drv_t_ExternalMetricSource, drv_t_ContainerResourceMetricSource, drv_t_MetricValueStatus,
    drv_t_ResourceMetricStatus;

#define TYPEMETA                                                                               \
  F_STR("apiVersion", "Versioned schema of this representation of an object."),                \
      F_STR("kind", "REST resource this object represents."),                                   \
      F_OBJ("metadata", drv_t_ObjectMeta, "Standard object's metadata.")

TYPE(drv_t_RollingUpdateDeployment, "io.k8s.api.apps.v1.RollingUpdateDeployment",
     "Spec to control the desired behavior of rolling update.",
     F_IOS("maxSurge", "Pods that can be scheduled above the desired number (number or %)."),
     F_IOS("maxUnavailable", "Pods that can be unavailable during the update (number or %)."));

TYPE(drv_t_DeploymentStrategy, "io.k8s.api.apps.v1.DeploymentStrategy",
     "How to replace existing pods with new ones.",
     F_OBJ("rollingUpdate", drv_t_RollingUpdateDeployment, "Rolling update config params."),
     F_STR("type", "Recreate or RollingUpdate. Default RollingUpdate."));

TYPE(drv_t_DeploymentSpec, "io.k8s.api.apps.v1.DeploymentSpec",
     "The specification of the desired behavior of the Deployment.",
     F_INT("minReadySeconds", "Seconds a new pod must be ready to count as available."),
     F_BOOL("paused", "Indicates that the deployment is paused."),
     F_INT("progressDeadlineSeconds", "Seconds to make progress before it is considered failed."),
     F_INT("replicas", "Number of desired pods. Defaults to 1."),
     F_INT("revisionHistoryLimit", "Old ReplicaSets to retain for rollback. Defaults to 10."),
     F_OBJ_REQ("selector", drv_t_LabelSelector, "Label selector for pods; must match the template's labels."),
     F_OBJ_RK("strategy", drv_t_DeploymentStrategy, "How to replace existing pods with new ones."),
     F_OBJ_REQ("template", drv_t_PodTemplateSpec, "Template describes the pods that will be created."));

TYPE(drv_t_DeploymentCondition, "io.k8s.api.apps.v1.DeploymentCondition",
     "The state of a deployment at a certain point.",
     F_TIME("lastTransitionTime", "Last change."), F_TIME("lastUpdateTime", "Last update."),
     F_STR("message", "Details."), F_STR("reason", "Reason."),
     F_STR_REQ("status", "True, False or Unknown."),
     F_STR_REQ("type", "Available, Progressing or ReplicaFailure."));

TYPE(drv_t_DeploymentStatus, "io.k8s.api.apps.v1.DeploymentStatus",
     "The most recently observed status of the Deployment.",
     F_INT("availableReplicas", "Available pods."), F_INT("collisionCount", "Hash collisions."),
     F_LIST("conditions", drv_t_DeploymentCondition, "type", "Latest observations."),
     F_INT("observedGeneration", "Generation observed by the controller."),
     F_INT("readyReplicas", "Ready pods."), F_INT("replicas", "Non-terminated pods targeted."),
     F_INT("terminatingReplicas", "Terminating pods."),
     F_INT("unavailableReplicas", "Unavailable pods."),
     F_INT("updatedReplicas", "Pods with the desired template."));

TYPE(drv_t_Deployment, "io.k8s.api.apps.v1.Deployment",
     "Deployment enables declarative updates for Pods and ReplicaSets.", TYPEMETA,
     F_OBJ("spec", drv_t_DeploymentSpec, "Specification of the desired behavior of the Deployment."),
     F_OBJ("status", drv_t_DeploymentStatus, "Most recently observed status of the Deployment."));

TYPE(drv_t_ReplicaSetSpec, "io.k8s.api.apps.v1.ReplicaSetSpec",
     "The specification of a ReplicaSet.",
     F_INT("minReadySeconds", "Seconds a new pod must be ready to count as available."),
     F_INT("replicas", "Number of desired pods. Defaults to 1."),
     F_OBJ_REQ("selector", drv_t_LabelSelector, "Label query over pods that should match the replica count."),
     F_OBJ("template", drv_t_PodTemplateSpec, "The pod created when too few are found."));

TYPE(drv_t_ReplicaSetCondition, "io.k8s.api.apps.v1.ReplicaSetCondition",
     "The state of a replica set at a certain point.",
     F_TIME("lastTransitionTime", "Last change."), F_STR("message", "Details."),
     F_STR("reason", "Reason."), F_STR_REQ("status", "True, False or Unknown."),
     F_STR_REQ("type", "Type of the condition."));

TYPE(drv_t_ReplicaSetStatus, "io.k8s.api.apps.v1.ReplicaSetStatus",
     "The current status of a ReplicaSet.", F_INT("availableReplicas", "Available pods."),
     F_LIST("conditions", drv_t_ReplicaSetCondition, "type", "Latest observations."),
     F_INT("fullyLabeledReplicas", "Pods with the template's labels."),
     F_INT("observedGeneration", "Generation observed."), F_INT("readyReplicas", "Ready pods."),
     F_INT_REQ("replicas", "Most recently observed number of replicas."),
     F_INT("terminatingReplicas", "Terminating pods."));

TYPE(drv_t_ReplicaSet, "io.k8s.api.apps.v1.ReplicaSet",
     "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
     TYPEMETA, F_OBJ("spec", drv_t_ReplicaSetSpec, "The specification of the desired behavior."),
     F_OBJ("status", drv_t_ReplicaSetStatus, "The most recently observed status."));

/* ---- autoscaling ---- */

TYPE(drv_t_CrossVersionObjectReference, "io.k8s.api.autoscaling.v2.CrossVersionObjectReference",
     "Enough information to let you identify the referred resource.",
     F_STR("apiVersion", "API version of the referent."),
     F_STR_REQ("kind", "Kind of the referent."), F_STR_REQ("name", "Name of the referent."));

TYPE(drv_t_MetricTarget, "io.k8s.api.autoscaling.v2.MetricTarget",
     "The target value, average value, or average utilization of a specific metric.",
     F_INT("averageUtilization", "Target percentage of the resource request."),
     F_QTY("averageValue", "Target average value across pods."),
     F_STR_REQ("type", "Utilization, Value, or AverageValue."), F_QTY("value", "Target value."));

TYPE(drv_t_ResourceMetricSource, "io.k8s.api.autoscaling.v2.ResourceMetricSource",
     "A resource metric (cpu, memory) known to Kubernetes.",
     F_STR_REQ("name", "Name of the resource."),
     F_OBJ_REQ("target", drv_t_MetricTarget, "Target value for the given metric."));

TYPE(drv_t_MetricIdentifier, "io.k8s.api.autoscaling.v2.MetricIdentifier",
     "Name and selector of a metric.", F_STR_REQ("name", "Name of the metric."),
     F_OBJ("selector", drv_t_LabelSelector, "Selects the metric's series."));

TYPE(drv_t_PodsMetricSource, "io.k8s.api.autoscaling.v2.PodsMetricSource",
     "A metric describing each pod, averaged.",
     F_OBJ_REQ("metric", drv_t_MetricIdentifier, "The metric."),
     F_OBJ_REQ("target", drv_t_MetricTarget, "Target value."));

TYPE(drv_t_ObjectMetricSource, "io.k8s.api.autoscaling.v2.ObjectMetricSource",
     "A metric describing one Kubernetes object.",
     F_OBJ_REQ("describedObject", drv_t_CrossVersionObjectReference, "The object."),
     F_OBJ_REQ("metric", drv_t_MetricIdentifier, "The metric."),
     F_OBJ_REQ("target", drv_t_MetricTarget, "Target value."));

TYPE(drv_t_ExternalMetricSource, "io.k8s.api.autoscaling.v2.ExternalMetricSource",
     "A metric not associated with any Kubernetes object.",
     F_OBJ_REQ("metric", drv_t_MetricIdentifier, "The metric."),
     F_OBJ_REQ("target", drv_t_MetricTarget, "Target value."));

TYPE(drv_t_ContainerResourceMetricSource, "io.k8s.api.autoscaling.v2.ContainerResourceMetricSource",
     "A resource metric of one container of each pod.",
     F_STR_REQ("container", "Name of the container."), F_STR_REQ("name", "Name of the resource."),
     F_OBJ_REQ("target", drv_t_MetricTarget, "Target value."));

TYPE_OPEN(drv_t_MetricSpec, "io.k8s.api.autoscaling.v2.MetricSpec",
          "The specification for a single metric to scale on.",
          F_OBJ("containerResource", drv_t_ContainerResourceMetricSource, "A resource metric of one container."),
          F_OBJ("external", drv_t_ExternalMetricSource, "A metric not associated with any Kubernetes object."),
          F_OBJ("object", drv_t_ObjectMetricSource, "A metric describing a single Kubernetes object."),
          F_OBJ("pods", drv_t_PodsMetricSource, "A metric describing each pod."),
          F_OBJ("resource", drv_t_ResourceMetricSource, "A resource metric (cpu, memory)."),
          F_STR_REQ("type", "ContainerResource, External, Object, Pods or Resource."));

TYPE(drv_t_MetricValueStatus, "io.k8s.api.autoscaling.v2.MetricValueStatus",
     "The current value of a metric.", F_INT("averageUtilization", "Current utilization percentage."),
     F_QTY("averageValue", "Current average value."), F_QTY("value", "Current value."));

TYPE_OPEN(drv_t_ResourceMetricStatus, "io.k8s.api.autoscaling.v2.ResourceMetricStatus",
          "Current value of a resource metric.",
          F_OBJ_REQ("current", drv_t_MetricValueStatus, "Current value."),
          F_STR_REQ("name", "Name of the resource."));

TYPE_OPEN(drv_t_MetricStatus, "io.k8s.api.autoscaling.v2.MetricStatus",
          "The last read state of a single metric.", F_ANY("containerResource", ""),
          F_ANY("external", ""), F_ANY("object", ""), F_ANY("pods", ""),
          F_OBJ("resource", drv_t_ResourceMetricStatus, "Current value of a resource metric."),
          F_STR_REQ("type", "Type of metric source."));

TYPE(drv_t_HPAScalingPolicy, "io.k8s.api.autoscaling.v2.HPAScalingPolicy",
     "A single policy which must hold true for a specified past interval.",
     F_INT_REQ("periodSeconds", "Window of time for which the policy should hold true."),
     F_STR_REQ("type", "Pods or Percent."), F_INT_REQ("value", "Amount of change permitted."));

TYPE(drv_t_HPAScalingRules, "io.k8s.api.autoscaling.v2.HPAScalingRules",
     "Scaling behavior for one direction.",
     F_LIST("policies", drv_t_HPAScalingPolicy, NULL, "Policies used when scaling."),
     F_STR("selectPolicy", "Max, Min or Disabled."),
     F_INT("stabilizationWindowSeconds", "Seconds of past recommendations considered."),
     F_QTY("tolerance", "Tolerance on the ratio of current to desired metric value."));

TYPE(drv_t_HPABehavior, "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerBehavior",
     "Scaling behavior of the target in both Up and Down directions.",
     F_OBJ("scaleDown", drv_t_HPAScalingRules, "Scaling policy for scaling Down."),
     F_OBJ("scaleUp", drv_t_HPAScalingRules, "Scaling policy for scaling Up."));

TYPE(drv_t_HPAv2Spec, "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec",
     "The desired functionality of the HorizontalPodAutoscaler.",
     F_OBJ("behavior", drv_t_HPABehavior, "Scaling behavior of the target."),
     F_INT_REQ("maxReplicas", "Upper limit for the number of replicas."),
     F_LIST("metrics", drv_t_MetricSpec, NULL, "Specifications used to calculate the desired replica count."),
     F_INT("minReplicas", "Lower limit for the number of replicas. Defaults to 1."),
     F_OBJ_REQ("scaleTargetRef", drv_t_CrossVersionObjectReference, "The resource to scale."));

TYPE(drv_t_HPACondition, "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerCondition",
     "The state of a HorizontalPodAutoscaler at a certain point.",
     F_TIME("lastTransitionTime", "Last change."), F_STR("message", "Details."),
     F_STR("reason", "Reason."), F_STR_REQ("status", "True, False or Unknown."),
     F_STR_REQ("type", "AbleToScale, ScalingActive or ScalingLimited."));

TYPE(drv_t_HPAv2Status, "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
     "The current status of a horizontal pod autoscaler.",
     F_LIST("conditions", drv_t_HPACondition, "type", "Conditions needed to scale."),
     F_LIST("currentMetrics", drv_t_MetricStatus, NULL, "Last read state of the metrics."),
     F_INT("currentReplicas", "Current number of replicas."),
     F_INT_REQ("desiredReplicas", "Desired number of replicas."),
     F_TIME("lastScaleTime", "Last time it scaled."),
     F_INT("observedGeneration", "Most recent generation observed."));

TYPE(drv_t_HPAv2, "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
     "HorizontalPodAutoscaler automatically manages the replica count of any resource "
     "implementing the scale subresource based on the metrics specified.",
     TYPEMETA, F_OBJ("spec", drv_t_HPAv2Spec, "Behaviour of the autoscaler."),
     F_OBJ("status", drv_t_HPAv2Status, "Current information about the autoscaler."));

TYPE(drv_t_HPAv1Spec, "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec",
     "Specification of a horizontal pod autoscaler.",
     F_INT_REQ("maxReplicas", "Upper limit for the number of pods."),
     F_INT("minReplicas", "Lower limit for the number of pods."),
     F_OBJ_REQ("scaleTargetRef", drv_t_CrossVersionObjectReference, "The resource to scale."),
     F_INT("targetCPUUtilizationPercentage", "Target average CPU utilization."));

TYPE(drv_t_HPAv1Status, "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerStatus",
     "Current status of a horizontal pod autoscaler.",
     F_INT("currentCPUUtilizationPercentage", "Current average CPU utilization."),
     F_INT_REQ("currentReplicas", "Current number of replicas."),
     F_INT_REQ("desiredReplicas", "Desired number of replicas."),
     F_TIME("lastScaleTime", "Last time it scaled."),
     F_INT("observedGeneration", "Most recent generation observed."));

TYPE(drv_t_HPAv1, "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
     "Configuration of a horizontal pod autoscaler.", TYPEMETA,
     F_OBJ("spec", drv_t_HPAv1Spec, "Behaviour of the autoscaler."),
     F_OBJ("status", drv_t_HPAv1Status, "Current information about the autoscaler."));

TYPE(drv_t_ScaleSpec, "io.k8s.api.autoscaling.v1.ScaleSpec", "Attributes of a scale subresource.",
     F_INT("replicas", "Desired number of instances for the scaled object."));
TYPE(drv_t_ScaleStatus, "io.k8s.api.autoscaling.v1.ScaleStatus", "Current status of a scale subresource.",
     F_INT_REQ("replicas", "Actual number of observed instances."),
     F_STR("selector", "Label query over pods (string form)."));
TYPE(drv_t_Scale, "io.k8s.api.autoscaling.v1.Scale",
     "Scale represents a scaling request for a resource.", TYPEMETA,
     F_OBJ("spec", drv_t_ScaleSpec, "Desired behavior of the scale."),
     F_OBJ("status", drv_t_ScaleStatus, "Current status of the scale."));

/* ---- coordination.k8s.io ---- */

TYPE(drv_t_LeaseSpec, "io.k8s.api.coordination.v1.LeaseSpec", "Specification of a Lease.",
     F_TIME("acquireTime", "When the current lease was acquired."),
     F_STR("holderIdentity", "Identity of the holder."),
     F_INT("leaseDurationSeconds", "Duration candidates wait to force acquire it."),
     F_INT("leaseTransitions", "Transitions of the lease between holders."),
     F_STR("preferredHolder", "Preferred holder."),
     F_TIME("renewTime", "When the holder last updated the lease."),
     F_STR("strategy", "Leader election strategy."));

TYPE(drv_t_Lease, "io.k8s.api.coordination.v1.Lease", "Lease defines a lease concept.",
     TYPEMETA, F_OBJ("spec", drv_t_LeaseSpec, "Specification of the Lease."));

/* ---- discovery.k8s.io ---- */

TYPE(drv_t_EndpointConditions, "io.k8s.api.discovery.v1.EndpointConditions",
     "Current condition of an endpoint.", F_BOOL("ready", "Ready to receive traffic."),
     F_BOOL("serving", "Serving traffic."), F_BOOL("terminating", "Terminating."));

TYPE_OPEN(drv_t_Endpoint, "io.k8s.api.discovery.v1.Endpoint", "A single logical backend.",
          F_STRS("addresses", "Addresses of this endpoint."),
          F_OBJ("conditions", drv_t_EndpointConditions, "Current condition."),
          F_MAP_STR("deprecatedTopology", "Deprecated topology."),
          F_ANY("hints", "Topology hints."), F_STR("hostname", "Hostname of this endpoint."),
          F_STR("nodeName", "Node hosting this endpoint."),
          F_OBJ("targetRef", drv_t_ObjectReference, "Object providing the endpoint."),
          F_STR("zone", "Zone of the endpoint."));

TYPE(drv_t_EndpointSlicePort, "io.k8s.api.discovery.v1.EndpointPort",
     "A port used by an EndpointSlice.", F_STR("appProtocol", "Application protocol."),
     F_STR("name", "Name of this port."), F_INT("port", "Port number."),
     F_STR("protocol", "TCP, UDP or SCTP."));

TYPE(drv_t_EndpointSlice, "io.k8s.api.discovery.v1.EndpointSlice",
     "EndpointSlice represents a subset of the endpoints that implement a service.", TYPEMETA,
     F_STR_REQ("addressType", "IPv4, IPv6 or FQDN."),
     F_LIST("endpoints", drv_t_Endpoint, NULL, "Unique endpoints in this slice."),
     F_LIST("ports", drv_t_EndpointSlicePort, NULL, "Network ports exposed."));

/* ---- events.k8s.io ---- */

TYPE(drv_t_EventsV1Series, "io.k8s.api.events.v1.EventSeries",
     "Data about a series of events.", F_INT_REQ("count", "Occurrences."),
     F_TIME("lastObservedTime", "Time of the last occurrence."));

TYPE(drv_t_EventsV1Event, "io.k8s.api.events.v1.Event",
     "Event is a report of an event somewhere in the cluster.", TYPEMETA,
     F_STR("action", "What action was taken/failed."),
     F_INT("deprecatedCount", "Deprecated core Event count."),
     F_TIME("deprecatedFirstTimestamp", "Deprecated core Event firstTimestamp."),
     F_TIME("deprecatedLastTimestamp", "Deprecated core Event lastTimestamp."),
     F_OBJ("deprecatedSource", drv_t_EventSource, "Deprecated core Event source."),
     F_TIME("eventTime", "When this Event was first observed."),
     F_STR("note", "Human-readable description of the status."),
     F_STR("reason", "Why the action was taken."),
     F_OBJ("regarding", drv_t_ObjectReference, "The object this Event is about."),
     F_OBJ("related", drv_t_ObjectReference, "Optional secondary object."),
     F_STR("reportingController", "Controller that emitted this Event."),
     F_STR("reportingInstance", "ID of the controller instance."),
     F_OBJ("series", drv_t_EventsV1Series, "Data about the series."),
     F_STR("type", "Normal or Warning."));

/* ---- metrics.k8s.io ---- */

TYPE(drv_t_ContainerMetrics, "io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics",
     "Resource usage metrics of a container.", F_STR_REQ("name", "Container name."),
     F_MAP_QTY("usage", "Memory and CPU usage."));

TYPE(drv_t_NodeMetrics, "io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics",
     "Resource usage metrics of a node.", TYPEMETA, F_TIME("timestamp", "End of the window."),
     F_MAP_QTY("usage", "Memory and CPU usage."), F_STR("window", "Window of the measurement."));

TYPE(drv_t_PodMetrics, "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics",
     "Resource usage metrics of a pod.", TYPEMETA,
     F_LIST("containers", drv_t_ContainerMetrics, NULL, "Metrics of every container."),
     F_TIME("timestamp", "End of the window."), F_STR("window", "Window of the measurement."));
