# demo.mk: "make demo" boots the demo guest (scripts/demo)
demo: $(SKIFF)
	scripts/demo
.PHONY: demo
