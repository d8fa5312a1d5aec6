// etcd, built from go.etcd.io/etcd/server/v3 for Lifeboat's tests only.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
