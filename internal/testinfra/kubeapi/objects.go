package kubeapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRDs creates every CustomResourceDefinition in the YAML file at
// path (created, not client-side applied: big CRDs exceed the
// last-applied annotation's size limit) and waits until each is
// Established, so its resource can be used at once.
func (s *Server) InstallCRDs(tb testing.TB, path string) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var names []string
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			tb.Fatalf("decoding %s: %v", path, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		_, err := s.Dynamic.Resource(crdGVR).Create(tb.Context(), &obj, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			tb.Fatalf("creating CRD %s: %v", obj.GetName(), err)
		}
		names = append(names, obj.GetName())
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range names {
		for !s.crdEstablished(tb, name) {
			if time.Now().After(deadline) {
				tb.Fatalf("CRD %s not Established after 30s", name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (s *Server) crdEstablished(tb testing.TB, name string) bool {
	crd, err := s.Dynamic.Resource(crdGVR).Get(tb.Context(), name, metav1.GetOptions{})
	if err != nil {
		tb.Fatalf("reading CRD %s: %v", name, err)
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// CreateNamespaces creates the namespaces that do not exist yet.
func (s *Server) CreateNamespaces(tb testing.TB, names ...string) {
	tb.Helper()
	for _, n := range names {
		_, err := s.Clientset.CoreV1().Namespaces().Create(tb.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			tb.Fatalf("creating namespace %s: %v", n, err)
		}
	}
}

// ServiceAccountToken creates ServiceAccount name in namespace, binds it to
// a Role there with rules, and returns a token for it (TokenRequest API).
func (s *Server) ServiceAccountToken(tb testing.TB, namespace, name string, rules []rbacv1.PolicyRule) string {
	tb.Helper()
	ctx := tb.Context()
	cs := s.Clientset
	s.CreateNamespaces(tb, namespace)
	if _, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatalf("creating service account: %v", err)
	}
	if _, err := cs.RbacV1().Roles(namespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatalf("creating role: %v", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: namespace}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
	}
	if _, err := cs.RbacV1().RoleBindings(namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatalf("creating role binding: %v", err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("creating token: %v", fmt.Errorf("%s/%s: %w", namespace, name, err))
	}
	return tr.Status.Token
}
