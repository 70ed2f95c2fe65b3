from infra.stack.template import main

main()
