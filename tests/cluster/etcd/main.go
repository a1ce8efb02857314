// Command etcd is the etcd server, built from the etcd release that
// k8s.io/kubernetes itself depends on (and tests against).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
