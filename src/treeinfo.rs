//! .treeinfo
